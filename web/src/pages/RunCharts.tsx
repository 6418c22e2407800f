/**
 * The detail page's charts over episodes (reward, rolling win rate, episode length, epsilon when the
 * agent has one), cursor- and zoom-synced.
 * Drag-selecting a range of downsampled data asks the page for finer data of that range.
 */
import { useMemo } from "react";
import type { Episode, WinRatePoint } from "../api/types";
import { MetricChart } from "../components/MetricChart";
import { SERIES_COLORS } from "../components/palette";
import { formatInteger } from "../lib/format";
import { episodeLengthSeries, epsilonSeries } from "../lib/diagnostics";
import { rewardSeries, winRateSeries } from "../lib/series";

export interface RunChartsProps {
  runId: string;
  episodes: readonly Episode[];
  winRates: readonly WinRatePoint[];
  downsampled: boolean;
  resolution: number;
  zoomed: boolean;
  loadingFiner: boolean;
  onZoom: (min: number, max: number) => void;
  onResetZoom: () => void;
}

export function RunCharts(props: RunChartsProps) {
  const { runId, episodes, winRates, downsampled, resolution, zoomed, loadingFiner, onZoom, onResetZoom } = props;
  const reward = useMemo(() => rewardSeries(episodes), [episodes]);
  const winRate = useMemo(() => winRateSeries(winRates), [winRates]);
  const length = useMemo(() => episodeLengthSeries(episodes), [episodes]);
  const epsilon = useMemo(() => epsilonSeries(episodes), [episodes]);

  const note = (
    <>
      {downsampled ? (
        <span>
          Downsampled: each point is the mean of {formatInteger(resolution)} episodes; the band spans their min and max.
          Drag across a chart to load finer data.
        </span>
      ) : (
        <span>
          {zoomed && reward.x.length > 0
            ? `Episodes ${formatInteger(reward.x[0])}–${formatInteger(reward.x[reward.x.length - 1])} at full resolution.`
            : `All ${formatInteger(reward.x.length)} episodes shown.`}{" "}
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

  return (
    <div className="charts">
      <MetricChart
        title="Episode Reward"
        testId="chart-reward"
        series={reward}
        color={SERIES_COLORS[0]}
        xLabel="Episode"
        yLabel="Reward"
        syncKey={`run-${runId}`}
        onZoom={onZoom}
        emptyText="No episodes logged yet."
        note={note}
      />
      <MetricChart
        title="Rolling Win Rate"
        testId="chart-winrate"
        series={winRate}
        color={SERIES_COLORS[2]}
        xLabel="Episode"
        yLabel="Win rate"
        percent
        syncKey={`run-${runId}`}
        onZoom={onZoom}
        emptyText="No win/loss outcomes recorded for this run."
      />
      <MetricChart
        title="Episode Length"
        testId="chart-length"
        series={length}
        color={SERIES_COLORS[4]}
        xLabel="Episode"
        yLabel="Steps"
        syncKey={`run-${runId}`}
        onZoom={onZoom}
        emptyText="No episodes logged yet."
      />
      {epsilon && (
        <MetricChart
          title="Epsilon"
          testId="chart-epsilon"
          series={epsilon}
          color={SERIES_COLORS[3]}
          xLabel="Episode"
          yLabel="Epsilon"
          syncKey={`run-${runId}`}
          onZoom={onZoom}
          emptyText="No epsilon recorded."
          smooth={false}
        />
      )}
    </div>
  );
}
