/**
 * The run page's Training diagnostics: one small chart per rollout value over timesteps (entropy,
 * losses, approx KL, clip fraction, explained variance, legal-action share, invalid actions, steps/s),
 * all sharing one sync key so a drag-zoom on one zooms them all. Invalid actions must stay 0: any
 * other value shows a warning. Data: `useRollouts`, shaped by lib/diagnostics.
 */
import { useMemo } from "react";
import type { Rollout } from "../api/evaluation";
import { MetricChart } from "../components/MetricChart";
import { SERIES_COLORS } from "../components/palette";

// Every chart in a colour (the palette's grey reads as an axis at this size).
const COLORS = SERIES_COLORS.filter((c) => c !== "#4D4D4D");
import { hasValues, invalidActions, rolloutSeries, type RolloutField } from "../lib/diagnostics";
import { formatInteger } from "../lib/format";

interface ChartSpec {
  field: RolloutField;
  title: string;
  yLabel: string;
  percent?: boolean;
}

const CHARTS: ChartSpec[] = [
  { field: "entropy", title: "Policy entropy", yLabel: "Entropy (nats)" },
  { field: "value_loss", title: "Value loss", yLabel: "Value loss" },
  { field: "policy_gradient_loss", title: "Policy-gradient loss", yLabel: "PG loss" },
  { field: "approx_kl", title: "Approx KL", yLabel: "KL" },
  { field: "clip_fraction", title: "Clip fraction", yLabel: "Clip fraction", percent: true },
  { field: "explained_variance", title: "Explained variance", yLabel: "Explained variance" },
  { field: "legal_share", title: "Legal-action share", yLabel: "Legal share" },
  { field: "invalid_actions", title: "Invalid actions", yLabel: "Invalid actions" },
  { field: "steps_per_second", title: "Steps per second", yLabel: "Steps/s" },
];

export function DiagnosticsSection({ runId, rollouts }: { runId: string; rollouts: readonly Rollout[] }) {
  const invalid = useMemo(() => invalidActions(rollouts), [rollouts]);
  const charts = useMemo(
    () =>
      CHARTS.map((spec) => ({ spec, series: rolloutSeries(rollouts, spec.field) })).filter(
        (c) => c.spec.field === "invalid_actions" || hasValues(c.series),
      ),
    [rollouts],
  );
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
                key={spec.field}
                title={spec.title}
                testId={`diag-${spec.field}`}
                series={series}
                color={COLORS[i % COLORS.length]}
                xLabel="Timestep"
                yLabel={spec.yLabel}
                percent={spec.percent}
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
