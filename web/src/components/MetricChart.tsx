/**
 * One metric of one run over episodes: the raw line, its EMA (with a smoothing slider) and, for
 * downsampled data, the min/max band of each bucket. Takes a plain `MetricSeries` built by
 * lib/series; drag-select zooms (reported through `onZoom`), double-click resets.
 */
import { useId, useMemo, useState, type ReactNode } from "react";
import type uPlot from "uplot";
import type { MetricSeries } from "../lib/series";
import { emaSmooth } from "../lib/smoothing";
import { withAlpha } from "./palette";
import { UPlotChart } from "./UPlotChart";

export interface MetricChartProps {
  title: string;
  /** Shown next to the title (e.g. "points"); omitted when empty. */
  unit?: string;
  /** One line under the title, e.g. the metric's declared description. */
  description?: string;
  testId: string;
  series: MetricSeries;
  color: string;
  xLabel: string;
  yLabel: string;
  /** The line's name in the legend (default: `yLabel`). */
  seriesLabel?: string;
  /** Values are fractions shown as percentages on a fixed 0–100% axis. */
  percent?: boolean;
  syncKey?: string;
  onZoom?: (min: number, max: number) => void;
  emptyText: string;
  note?: ReactNode;
  /** Plot height in pixels (default: UPlotChart's). */
  height?: number;
  /** Show the EMA line and smoothing slider (default true). */
  smooth?: boolean;
}

export const DEFAULT_SMOOTHING = 0.6;

export function percentTick(value: number): string {
  return `${Math.round(value * 100)}%`;
}

function valueFormatter(percent: boolean) {
  return (_u: uPlot, v: number | null) =>
    v === null || v === undefined
      ? "—"
      : percent
        ? `${(v * 100).toFixed(1)}%`
        : Number.isInteger(v)
          ? String(v) // counts such as steps
          : v.toFixed(3);
}

/** A chart card's title, with its unit as a pill and a one-line description under it. */
export function ChartTitle(props: { title: string; unit?: string; description?: string; testId: string }) {
  const { title, unit, description, testId } = props;
  return (
    <div className="chart-card__title">
      <h3>
        {title}
        {unit && (
          <span className="chart-card__unit" data-testid={`${testId}-unit`}>
            {unit}
          </span>
        )}
      </h3>
      {description && <p className="chart-card__description">{description}</p>}
    </div>
  );
}

export function SmoothingSlider({ value, onChange }: { value: number; onChange: (v: number) => void }) {
  const id = useId();
  return (
    <label className="smoothing" htmlFor={id}>
      <span>Smoothing</span>
      <input
        id={id}
        type="range"
        min={0}
        max={0.99}
        step={0.01}
        value={value}
        onChange={(e) => onChange(Number(e.target.value))}
        aria-valuetext={value.toFixed(2)}
      />
      <output htmlFor={id}>{value.toFixed(2)}</output>
    </label>
  );
}

export function MetricChart(props: MetricChartProps) {
  const { title, testId, series, color, xLabel, yLabel, percent = false, syncKey, onZoom, emptyText, note } = props;
  const { height, smooth = true, unit, description } = props;
  const name = props.seriesLabel ?? yLabel;
  const [chosenSmoothing, setSmoothing] = useState(DEFAULT_SMOOTHING);
  const smoothing = smooth ? chosenSmoothing : 0;
  const banded = Boolean(series.band);

  const data = useMemo<uPlot.AlignedData>(() => {
    const cols: (number | null)[][] = [series.y, emaSmooth(series.y, smoothing)];
    if (series.band) cols.push(series.band.min, series.band.max);
    return [series.x, ...cols] as uPlot.AlignedData;
  }, [series, smoothing]);

  const labels = useMemo(
    () => [name, `${name} (EMA)`, ...(banded ? [`${name} min`, `${name} max`] : [])],
    [name, banded],
  );

  const options = useMemo<Omit<uPlot.Options, "width" | "height">>(() => {
    const value = valueFormatter(percent);
    const seriesOpts: uPlot.Series[] = [
      { label: xLabel },
      { label: labels[0], stroke: withAlpha(color, banded ? 0.55 : 0.35), width: 1, value },
      // Without smoothing the EMA equals the raw line: drawn solid; the chart then shows no legend.
      { label: labels[1], stroke: color, width: smooth ? 2 : 1.5, value },
    ];
    if (banded) {
      const edge = { stroke: withAlpha(color, 0.25), width: 1, value, points: { show: false } };
      seriesOpts.push({ ...edge, label: labels[2] }, { ...edge, label: labels[3] });
    }
    return {
      scales: { x: { time: false }, ...(percent ? { y: { range: [0, 1] as uPlot.Range.MinMax } } : {}) },
      axes: [
        { label: xLabel },
        {
          label: yLabel,
          size: 60,
          ...(percent ? { values: (_u: uPlot, ticks: number[]) => ticks.map(percentTick) } : {}),
        },
      ],
      series: seriesOpts,
      bands: banded ? [{ series: [4, 3], fill: withAlpha(color, 0.14) }] : [],
      cursor: { drag: { x: true, y: false, setScale: true }, ...(syncKey ? { sync: { key: syncKey } } : {}) },
      legend: { live: true, show: smooth },
    };
  }, [color, xLabel, yLabel, percent, banded, labels, syncKey, smooth]);

  return (
    <section className="card chart-card" aria-label={title}>
      <header className="chart-card__header">
        <ChartTitle title={title} unit={unit} description={description} testId={testId} />
        {series.x.length > 0 && smooth && <SmoothingSlider value={smoothing} onChange={setSmoothing} />}
      </header>
      {series.x.length === 0 ? (
        <div className="chart-empty" data-testid={`${testId}-empty`}>
          {emptyText}
        </div>
      ) : (
        <div
          className="chart-frame"
          data-testid={testId}
          data-series-count={labels.length}
          data-series={labels.join(",")}
          data-points={series.x.length}
        >
          <UPlotChart options={options} data={data} onZoom={onZoom} height={height} testId={`${testId}-plot`} />
        </div>
      )}
      {note && <footer className="chart-card__note">{note}</footer>}
    </section>
  );
}
