/**
 * The detail page's charts over episodes: one per declared per-episode metric the run has data for
 * (built-in and custom, from `metric_specs`), titled with its name, unit and description,
 * cursor- and zoom-synced. Drag-selecting a range of downsampled data asks the page for finer data of
 * that range. A new metric declaration gets its chart here without code of its own.
 */
import { useMemo } from "react";
import type { Episode, MetricSpec, WinRatePoint } from "../api/types";
import { MetricChart } from "../components/MetricChart";
import { SERIES_COLORS } from "../components/palette";
import { formatInteger } from "../lib/format";
import {
  axisLabel,
  chartedSpecs,
  hasValues,
  isPercent,
  metricLabel,
  metricSeries,
  pointsOf,
  unitLabel,
  withUndeclared,
} from "../lib/metrics";
import type { MetricSeries } from "../lib/series";

export interface RunChartsProps {
  runId: string;
  specs: readonly MetricSpec[];
  episodes: readonly Episode[];
  winRates: readonly WinRatePoint[];
  downsampled: boolean;
  resolution: number;
  zoomed: boolean;
  loadingFiner: boolean;
  onZoom: (min: number, max: number) => void;
  onResetZoom: () => void;
}

interface Chart {
  spec: MetricSpec;
  series: MetricSeries;
}

export function RunCharts(props: RunChartsProps) {
  const { runId, specs, episodes, winRates, downsampled, resolution, zoomed, loadingFiner, onZoom, onResetZoom } =
    props;
  const charts = useMemo<Chart[]>(
    () =>
      chartedSpecs(withUndeclared(specs, episodes))
        .map((spec) => ({ spec, series: metricSeries(pointsOf(spec.name, episodes, winRates), spec.name) }))
        .filter((c) => hasValues(c.series)),
    [specs, episodes, winRates],
  );
  const shown = episodes.length;

  const note = (
    <>
      {downsampled ? (
        <span>
          Downsampled: each point stands for {formatInteger(resolution)} episodes (their mean, or the last value for
          metrics such as epsilon); the band spans their min and max. Drag across a chart to load finer data.
        </span>
      ) : (
        <span>
          {zoomed && shown > 0
            ? `Episodes ${formatInteger(episodes[0].episode)}–${formatInteger(episodes[shown - 1].episode)} at full resolution.`
            : `All ${formatInteger(shown)} episodes shown.`}{" "}
          Drag to zoom, double-click to reset.
        </span>
      )}
      {loadingFiner && <span className="muted"> Loading finer data…</span>}
      {zoomed && (
        <button type="button" className="button button--small" onClick={onResetZoom} data-testid="reset-zoom">
          Reset zoom
        </button>
      )}
    </>
  );

  if (charts.length === 0) {
    return (
      <div className="charts">
        <section className="card chart-card" aria-label="Episode metrics">
          <div className="chart-empty" data-testid="charts-empty">
            No episodes logged yet.
          </div>
        </section>
      </div>
    );
  }

  return (
    <div className="charts" data-testid="run-charts" data-metrics={charts.map((c) => c.spec.name).join(",")}>
      {charts.map(({ spec, series }, i) => (
        <MetricChart
          key={spec.name}
          title={metricLabel(spec.name)}
          unit={unitLabel(spec)}
          description={spec.description}
          testId={`chart-${spec.name}`}
          series={series}
          color={SERIES_COLORS[i % SERIES_COLORS.length]}
          xLabel="Episode"
          yLabel={axisLabel(spec)}
          seriesLabel={metricLabel(spec.name)}
          percent={isPercent(spec)}
          // A rolling or scheduled value (a group keeps its last) is drawn as it is, not smoothed again.
          smooth={spec.aggregation !== "last"}
          syncKey={`run-${runId}`}
          onZoom={onZoom}
          emptyText="No values recorded."
          note={i === 0 ? note : undefined}
        />
      ))}
    </div>
  );
}
