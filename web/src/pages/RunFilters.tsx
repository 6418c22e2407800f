/** The list view's filter bar: search, agent, status, algorithm and start-date range. */
import { useEffect, useEffectEvent, useId, useState } from "react";
import { RUN_STATUSES } from "../api/types";
import { hasActiveFilters, type ListFilters } from "../lib/filters";
import { useDebouncedValue } from "../hooks/useDebouncedValue";

export interface RunFiltersProps {
  filters: ListFilters;
  agents: readonly string[];
  algorithms: readonly string[];
  onChange: (patch: Partial<ListFilters>, options?: { replace?: boolean }) => void;
  onClear: () => void;
}

export function RunFilters({ filters, agents, algorithms, onChange, onClear }: RunFiltersProps) {
  const ids = { q: useId(), agent: useId(), status: useId(), algorithm: useId(), after: useId(), before: useId() };
  const algorithmList = useId();

  // Text inputs update the URL once typing pauses (and replace the history entry).
  const [text, setText] = useState(filters.q);
  const [algorithm, setAlgorithm] = useState(filters.algorithm);
  // When the URL changes under us (back button, "Clear filters"), the inputs follow it.
  const [shown, setShown] = useState({ q: filters.q, algorithm: filters.algorithm });
  if (shown.q !== filters.q || shown.algorithm !== filters.algorithm) {
    setShown({ q: filters.q, algorithm: filters.algorithm });
    setText(filters.q);
    setAlgorithm(filters.algorithm);
  }
  const debouncedText = useDebouncedValue(text, 300);
  const debouncedAlgorithm = useDebouncedValue(algorithm, 300);
  const typed = useEffectEvent((patch: Pick<ListFilters, "q" | "algorithm">) => {
    if (patch.q !== filters.q || patch.algorithm !== filters.algorithm) onChange(patch, { replace: true });
  });
  useEffect(() => {
    typed({ q: debouncedText, algorithm: debouncedAlgorithm.trim() });
  }, [debouncedText, debouncedAlgorithm]);

  const clear = () => {
    setText("");
    setAlgorithm("");
    onClear();
  };

  const agentOptions = filters.agent && !agents.includes(filters.agent) ? [filters.agent, ...agents] : agents;

  return (
    <form className="filters" role="search" aria-label="Filter runs" onSubmit={(e) => e.preventDefault()}>
      <div className="field field--grow">
        <label htmlFor={ids.q}>Search</label>
        <input
          id={ids.q}
          type="search"
          placeholder="Run ID or agent…"
          value={text}
          onChange={(e) => setText(e.target.value)}
          data-testid="filter-q"
        />
      </div>
      <div className="field">
        <label htmlFor={ids.agent}>Agent</label>
        <select
          id={ids.agent}
          value={filters.agent}
          onChange={(e) => onChange({ agent: e.target.value })}
          data-testid="filter-agent"
        >
          <option value="">All agents</option>
          {agentOptions.map((a) => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={ids.status}>Status</label>
        <select
          id={ids.status}
          value={filters.status}
          onChange={(e) => onChange({ status: e.target.value as ListFilters["status"] })}
          data-testid="filter-status"
        >
          <option value="">All statuses</option>
          {RUN_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={ids.algorithm}>Algorithm</label>
        <input
          id={ids.algorithm}
          list={algorithmList}
          placeholder="Any"
          value={algorithm}
          onChange={(e) => setAlgorithm(e.target.value)}
          data-testid="filter-algorithm"
        />
        <datalist id={algorithmList}>
          {algorithms.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
      </div>
      <div className="field">
        <label htmlFor={ids.after}>Started after</label>
        <input
          id={ids.after}
          type="date"
          value={filters.after}
          max={filters.before || undefined}
          onChange={(e) => onChange({ after: e.target.value })}
          data-testid="filter-after"
        />
      </div>
      <div className="field">
        <label htmlFor={ids.before}>Started before</label>
        <input
          id={ids.before}
          type="date"
          value={filters.before}
          min={filters.after || undefined}
          onChange={(e) => onChange({ before: e.target.value })}
          data-testid="filter-before"
        />
      </div>
      <div className="field field--action">
        <button
          type="button"
          className="button button--ghost"
          onClick={clear}
          disabled={!hasActiveFilters(filters) && !text && !algorithm}
        >
          Clear filters
        </button>
      </div>
    </form>
  );
}
