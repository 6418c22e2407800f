/**
 * Thin React wrapper around one uPlot instance: creates it when `options` change, feeds it `data`,
 * follows the container's width, and reports drag-select zooms. Knows nothing about runs; callers
 * pass plain aligned series (see components/MetricChart, pages/ComparePage).
 */
import { useEffect, useEffectEvent, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface UPlotChartProps {
  options: Omit<uPlot.Options, "width" | "height">;
  data: uPlot.AlignedData;
  height?: number;
  /** Called with the x range the user drag-selected (uPlot has already zoomed to it). */
  onZoom?: (min: number, max: number) => void;
  testId?: string;
}

export function UPlotChart({ options, data, height = 280, onZoom, testId }: UPlotChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const zoomTo = useEffectEvent((min: number, max: number) => onZoom?.(min, max));
  const currentData = useEffectEvent(() => data);

  useEffect(() => {
    const el = container.current;
    if (!el) return;
    const markDrawn = (u: uPlot) => {
      el.dataset.drawn = "true";
      el.dataset.drawnPoints = String(u.data[0]?.length ?? 0);
      // The shown x range, so synced zoom is observable (tests, and a chart's own note).
      el.dataset.xMin = String(u.scales.x.min ?? "");
      el.dataset.xMax = String(u.scales.x.max ?? "");
    };
    const zoomed = (u: uPlot) => {
      if (u.select.width <= 0) return;
      const min = u.posToVal(u.select.left, "x");
      const max = u.posToVal(u.select.left + u.select.width, "x");
      zoomTo(min, max);
    };
    const hooks = options.hooks ?? {};
    const u = new uPlot(
      {
        ...options,
        width: Math.max(200, el.clientWidth),
        height,
        hooks: {
          ...hooks,
          draw: [...(hooks.draw ?? []), markDrawn],
          setSelect: [...(hooks.setSelect ?? []), zoomed],
        },
      },
      currentData(),
      el,
    );
    plot.current = u;
    const resize = new ResizeObserver(() => {
      const width = Math.max(200, el.clientWidth);
      if (width !== u.width) u.setSize({ width, height });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
      delete el.dataset.drawn;
    };
  }, [options, height]);

  useEffect(() => {
    const u = plot.current;
    if (!u || u.data === data) return;
    // Keep a user's zoom when new points arrive (live appends); otherwise fit the new data.
    const xs = u.data[0];
    const { min, max } = u.scales.x;
    const zoomed = xs.length > 1 && min !== undefined && max !== undefined && (min > xs[0] || max < xs[xs.length - 1]);
    u.setData(data, !zoomed);
  }, [data]);

  return <div ref={container} className="uplot-host" data-testid={testId} />;
}
