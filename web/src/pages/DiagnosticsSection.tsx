/**
 * The run page's Training diagnostics: one small chart per declared per-rollout metric over timesteps
 * (the built-in PPO diagnostics and any custom metric the run logged, from the specs the API serves with
 * the rollouts), all sharing one sync key so a drag-zoom on one zooms them all. Invalid actions must stay 0: any
 * other value shows a warning. Each chart shows its unit; a custom one also its description. Data: `useRollouts`, shaped by lib/diagnostics.
 */
import { useMemo } from "react";
import type { Rollout } from "../api/evaluation";
import { MetricChart } from "../components/MetricChart";
import { SERIES_COLORS } from "../components/palette";
import type { MetricSpec } from "../api/types";
import { diagnosticCharts, invalidActions } from "../lib/diagnostics";
import { formatInteger } from "../lib/format";
import { axisLabel, isPercent, metricLabel, unitLabel } from "../lib/metrics";

// Every chart in a colour (the palette's grey reads as an axis at this size).
const COLORS = SERIES_COLORS.filter((c) => c !== "#4D4D4D");

export function DiagnosticsSection({
  runId,
  rollouts,
  specs,
}: {
  runId: string;
  rollouts: readonly Rollout[];
  specs: readonly MetricSpec[];
}) {
  const invalid = useMemo(() => invalidActions(rollouts), [rollouts]);
  const charts = useMemo(() => diagnosticCharts(specs, rollouts), [specs, rollouts]);
  return (
    <section className="card section" aria-labelledby="diag-h" data-testid="diagnostics">
      <h2 id="diag-h">Training diagnostics</h2>
      {rollouts.length === 0 ? (
        <p className="muted" data-testid="diagnostics-empty">
          No rollouts recorded yet.
        </p>
      ) : (
        <>
          <p className="muted">
            {formatInteger(rollouts.length)} rollouts, one point each at the timestep the rollout ended. Drag across any
            chart to zoom them all; double-click to reset.
          </p>
          {invalid.total > 0 ? (
            <div className="banner banner--warning" role="alert" data-testid="invalid-actions-warning">
              {formatInteger(invalid.total)} invalid actions in {formatInteger(invalid.rollouts.length)} rollouts
              (first: rollout {invalid.rollouts[0]}): the policy chose placements outside the legal-action mask. This
              must be 0.
            </div>
          ) : (
            <p className="ok-note" data-testid="invalid-actions-ok">
              ✓ No invalid actions: every chosen placement was legal.
            </p>
          )}
          <div className="charts charts--small">
            {charts.map(({ spec, series }, i) => (
              <MetricChart
                key={spec.name}
                title={spec.title || metricLabel(spec.name)}
                testId={`diag-${spec.name}`}
                unit={unitLabel(spec)}
                description={spec.builtin ? undefined : spec.description}
                series={series}
                color={COLORS[i % COLORS.length]}
                xLabel="Timestep"
                yLabel={unitLabel(spec) && !isPercent(spec) ? axisLabel(spec) : spec.title || metricLabel(spec.name)}
                percent={isPercent(spec)}
                syncKey={`run-${runId}-timestep`}
                emptyText="Not recorded for this run."
                height={170}
                smooth={false}
              />
            ))}
          </div>
        </>
      )}
    </section>
  );
}
