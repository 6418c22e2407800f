/**
 * `/training/compare?runs=a,b,...`: the curves of 2–8 runs overlaid, one chart per declared
 * per-episode metric any of them has (built-in and custom; x axis by episode or timestep, `x` search
 * param), their evaluation win rate per opponent over timesteps, a
 * legend, and the configuration keys that differ.
 */
import { useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { ApiError } from "../api/client";
import { useCompareRuns } from "../api/runs";
import type { RunDetail } from "../api/types";
import { ApiStatusBanner } from "../components/ApiStatusBanner";
import { DEFAULT_SMOOTHING, SmoothingSlider } from "../components/MetricChart";
import { SERIES_COLORS } from "../components/palette";
import { SkeletonBlock } from "../components/Skeleton";
import { StatusBadge } from "../components/StatusBadge";
import { diffConfigs, formatConfigValue } from "../lib/configDiff";
import { MAX_COMPARE, parseRunIds } from "../lib/filters";
import { shortId } from "../lib/format";
import { compareEvaluationCurves } from "../lib/diagnostics";
import {
  axisLabel,
  hasValues,
  isPercent,
  metricLabel,
  metricSeries,
  pointsOf,
  unionSpecs,
  unitLabel,
} from "../lib/metrics";
import type { XAxis } from "../lib/series";
import { CompareChart, type CompareLine } from "./CompareChart";

export function ComparePage() {
  const [params, setParams] = useSearchParams();
  const runIds = useMemo(() => parseRunIds(params.get("runs")), [params]);
  const axis: XAxis = params.get("x") === "timestep" ? "timestep" : "episode";
  const [smoothing, setSmoothing] = useState(DEFAULT_SMOOTHING);
  const compare = useCompareRuns(runIds);

  const loaded = useMemo(
    () =>
      compare.runs.map((run, i): { id: string; color: string; run: RunDetail | undefined } => ({
        id: runIds[i],
        color: SERIES_COLORS[i % SERIES_COLORS.length],
        run,
      })),
    [compare.runs, runIds],
  );
  const runs = useMemo(
    () => loaded.filter((r): r is { id: string; color: string; run: RunDetail } => r.run !== undefined),
    [loaded],
  );
  const missing = runIds.filter((_, i) => {
    const error = compare.errors[i];
    return error instanceof ApiError && error.isNotFound;
  });
  const loading = compare.pending;

  // One chart per metric any run has values for; each run's line only where it has values.
  const metricCharts = useMemo(
    () =>
      unionSpecs(runs.map((r) => r.run.metric_specs))
        .map((spec) => ({
          spec,
          lines: runs
            .map(({ id, color, run }): CompareLine => {
              const { episodes, rolling_win_rate: winRates } = run.metrics;
              return {
                label: id,
                color,
                series: metricSeries(pointsOf(spec.name, episodes, winRates), spec.name, axis, episodes),
              };
            })
            .filter((line) => hasValues(line.series)),
        }))
        .filter((chart) => chart.lines.length > 0),
    [runs, axis],
  );
  const evalCurves = useMemo(
    () => compareEvaluationCurves(runs.map((r) => ({ ...r, evaluations: r.run.evaluations }))),
    [runs],
  );
  const diff = useMemo(() => diffConfigs(runs.map((r) => r.run.config)), [runs]);

  const setAxis = (x: XAxis) => {
    const next = new URLSearchParams(params);
    if (x === "episode") next.delete("x");
    else next.set("x", x);
    setParams(next, { replace: true });
  };

  if (runIds.length < 2) {
    return (
      <div className="state-page">
        <h1>Compare runs</h1>
        <p className="muted">Select 2–{MAX_COMPARE} runs in the list to compare them.</p>
        <Link to="/training" className="button">
          ← Back to Training History
        </Link>
      </div>
    );
  }

  const xLabel = axis === "episode" ? "Episode" : "Timestep";
  return (
    <div className="page">
      <title>Compare runs · Trainyard</title>
      <nav className="breadcrumbs" aria-label="Breadcrumb">
        <Link to="/training">Training History</Link> <span aria-hidden="true">/</span> Compare
      </nav>
      <div className="page__header">
        <h1>Compare {runIds.length} runs</h1>
        <div className="page__actions">
          <div className="segmented" role="group" aria-label="X axis">
            {(["episode", "timestep"] as const).map((x) => (
              <button
                key={x}
                type="button"
                className={axis === x ? "segmented__on" : undefined}
                aria-pressed={axis === x}
                onClick={() => setAxis(x)}
                data-testid={`axis-${x}`}
              >
                {x === "episode" ? "Episode" : "Timestep"}
              </button>
            ))}
          </div>
          <SmoothingSlider value={smoothing} onChange={setSmoothing} />
        </div>
      </div>

      <ApiStatusBanner errors={compare.failureReasons} />
      {missing.length > 0 && (
        <div className="banner banner--error" role="alert">
          Run not found: {missing.join(", ")}
        </div>
      )}

      <ul className="legend" data-testid="compare-legend">
        {loaded.map(({ id, color, run }) => (
          <li key={id} data-run-id={id}>
            <span className="legend__swatch" style={{ background: color }} aria-hidden="true" />
            <Link to={`/training/${encodeURIComponent(id)}`} className="mono" title={id}>
              {shortId(id)}
            </Link>
            {run && (
              <>
                <span className="muted">
                  {run.agent_id} · {run.algorithm}
                </span>
                <StatusBadge status={run.status} />
              </>
            )}
          </li>
        ))}
      </ul>

      {loading && runs.length === 0 ? (
        <div className="charts">
          <SkeletonBlock height={300} />
          <SkeletonBlock height={300} />
        </div>
      ) : (
        <div className="charts">
          {metricCharts.map(({ spec, lines }) => (
            <CompareChart
              key={spec.name}
              title={metricLabel(spec.name)}
              unit={unitLabel(spec)}
              description={spec.description}
              testId={`compare-${spec.name}`}
              lines={lines}
              smoothing={spec.aggregation === "last" ? 0 : smoothing}
              xLabel={xLabel}
              yLabel={axisLabel(spec)}
              percent={isPercent(spec)}
            />
          ))}
          {evalCurves.map(({ opponent, runs: lines }) => (
            <CompareChart
              key={opponent}
              title={`Evaluation win rate vs ${opponent}`}
              testId={`compare-eval-${opponent}`}
              lines={lines.map(({ run, series }) => ({ label: run.id, color: run.color, series }))}
              smoothing={0}
              xLabel="Timestep"
              yLabel="Win rate"
              percent
              syncKey={axis === "timestep" ? "compare" : "compare-evaluation"}
            />
          ))}
        </div>
      )}

      <section className="card" aria-labelledby="diff-h">
        <h2 id="diff-h">Configuration differences</h2>
        {runs.length < 2 ? (
          <p className="muted">Waiting for the runs to load…</p>
        ) : diff.length === 0 ? (
          <p className="muted" data-testid="config-identical">
            The configurations are identical.
          </p>
        ) : (
          <div className="table-wrap">
            <table className="data-table" data-testid="config-diff">
              <thead>
                <tr>
                  <th scope="col">Key</th>
                  {runs.map(({ id, color }) => (
                    <th scope="col" key={id} title={id}>
                      <span className="legend__swatch" style={{ background: color }} aria-hidden="true" />
                      <span className="mono">{shortId(id)}</span>
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {diff.map((row) => (
                  <tr key={row.key} data-testid="config-diff-row">
                    <th scope="row" className="mono">
                      {row.key}
                    </th>
                    {row.values.map((v, i) => (
                      <td key={runs[i].id} className="mono">
                        {formatConfigValue(v)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}
