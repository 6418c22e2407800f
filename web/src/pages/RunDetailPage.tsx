/**
 * `/training/:runId`: one run. Failure details first (failed runs), then run information, summary
 * statistics, the episode charts (zoom refetches a finer episode range), the Evaluation panel and
 * curve, the Training diagnostics, configuration, metadata, checkpoints and the TensorBoard hint. While the run is running, api/stream appends new episodes to the
 * charts; when it ends the detail is fetched once more.
 */
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useMemo, useState, type ReactNode } from "react";
import { Link, useParams } from "react-router";
import { ApiError } from "../api/client";
import { useRollouts } from "../api/evaluation";
import { runExportUrl, runKeys, useCheckpointFiles, useRunDetail, type EpisodeRange } from "../api/runs";
import { useRunStream } from "../api/stream";
import type { RunDetail } from "../api/types";
import { ApiStatusBanner } from "../components/ApiStatusBanner";
import { ConfigTree } from "../components/ConfigTree";
import { CopyButton } from "../components/CopyButton";
import { SkeletonBlock } from "../components/Skeleton";
import { StatusBadge } from "../components/StatusBadge";
import { useNow } from "../hooks/useNow";
import { extractFailure } from "../lib/failure";
import { isLost } from "../lib/runView";
import {
  elapsedSeconds,
  formatDateTime,
  formatDuration,
  formatInteger,
  formatNumber,
  formatPercent,
} from "../lib/format";
import { appendByEpisode, lastEpisode } from "../lib/series";
import { CheckpointsTable } from "./CheckpointsTable";
import { FailurePanel } from "./FailurePanel";
import { NotFoundPage } from "./NotFoundPage";
import { DiagnosticsSection } from "./DiagnosticsSection";
import { EvaluationCurve } from "./EvaluationCurve";
import { EvaluationPanel } from "./EvaluationPanel";
import { RunCharts } from "./RunCharts";
import { TensorBoardHint } from "./TensorBoardHint";

/** Points requested for a zoomed episode range. */
const ZOOM_MAX_POINTS = 2000;

function Stat({ label, value, testId }: { label: string; value: string; testId: string }) {
  return (
    <div className="stat">
      <div className="stat__label">{label}</div>
      <div className="stat__value" data-testid={testId}>
        {value}
      </div>
    </div>
  );
}

function InfoRow({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="info__row">
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

export function RunDetailPage() {
  const { runId = "" } = useParams();
  const queryClient = useQueryClient();
  const [range, setRange] = useState<EpisodeRange | null>(null);
  const base = useRunDetail(runId);
  const zoom = useRunDetail(runId, range, range !== null);

  const running = base.data?.status === "running";
  const onEnd = useCallback(
    () => void queryClient.invalidateQueries({ queryKey: runKeys.details(runId) }),
    [queryClient, runId],
  );
  const live = useRunStream(runId, running, base.data ? lastEpisode(base.data.metrics.episodes) : 0, onEnd);

  // The run as last heard of: the fetched detail, updated by the stream's status events.
  const run: RunDetail | undefined = useMemo(() => {
    if (!base.data || !live.summary) return base.data;
    const s = live.summary;
    return {
      ...base.data,
      status: s.status,
      end_time: s.end_time,
      duration_seconds: s.duration_seconds,
      summary: s.summary,
    };
  }, [base.data, live.summary]);

  const allEpisodes = useMemo(
    () => appendByEpisode(base.data?.metrics.episodes ?? [], live.episodes),
    [base.data, live.episodes],
  );
  const allWinRates = useMemo(
    () => appendByEpisode(base.data?.metrics.rolling_win_rate ?? [], live.winRates),
    [base.data, live.winRates],
  );
  const now = useNow(run?.status === "running");
  const files = useCheckpointFiles(runId, (base.data?.checkpoint_paths.length ?? 0) > 0);
  const rollouts = useRollouts(runId, running);

  if (base.error instanceof ApiError && base.error.isNotFound) {
    return <NotFoundPage title="Run not found" detail={`There is no training run with ID ${runId}.`} />;
  }

  const zoomMetrics = range ? (zoom.data ?? base.data)?.metrics : undefined;
  const metrics = zoomMetrics ?? base.data?.metrics;
  const onZoom = (min: number, max: number) => {
    if (!base.data?.metrics.downsampled && !range) return; // raw data: uPlot's own zoom is enough
    const from = Math.max(1, Math.floor(min));
    const to = Math.max(from + 1, Math.ceil(max));
    setRange({ fromEpisode: from, toEpisode: to, maxPoints: ZOOM_MAX_POINTS });
  };

  const episodesDone = run ? Math.max(run.summary.episodes, lastEpisode(allEpisodes)) : 0;
  const failure = run?.status === "failed" ? extractFailure(run.metadata) : null;

  return (
    <div className="page">
      <title>{`${runId} · Training History · Trainyard`}</title>
      <nav className="breadcrumbs" aria-label="Breadcrumb">
        <Link to="/training">Training History</Link> <span aria-hidden="true">/</span>{" "}
        <span className="mono">{runId}</span>
      </nav>

      <ApiStatusBanner errors={[base.failureReason, zoom.failureReason]} />
      {base.error && !(base.error instanceof ApiError && base.error.isNotFound) && (
        <div className="banner banner--error" role="alert">
          Could not load this run: {base.error.message}
        </div>
      )}

      <div className="page__header">
        <div>
          <h1 className="run-title">
            <span className="mono" data-testid="run-id">
              {runId}
            </span>
            <CopyButton text={runId} label="Copy run ID" />
            {run && <StatusBadge status={run.status} lost={isLost(run)} />}
            {live.connected && (
              <span className="live-pill" data-testid="live-indicator">
                <span aria-hidden="true">●</span> Live
              </span>
            )}
          </h1>
          {run && (
            <p className="muted">
              {run.agent_id} · {run.algorithm}
            </p>
          )}
        </div>
        <div className="page__actions">
          <a className="button" href={runExportUrl(runId, "csv")} download data-testid="download-csv">
            Download CSV
          </a>
          <a className="button" href={runExportUrl(runId, "json")} download data-testid="download-json">
            Download JSON
          </a>
        </div>
      </div>

      {!run ? (
        <div className="detail-skeleton">
          <SkeletonBlock height={96} />
          <SkeletonBlock height={280} />
          <SkeletonBlock height={280} />
        </div>
      ) : (
        <>
          {run.status === "failed" && <FailurePanel failure={failure} />}

          <section className="stats" aria-label="Statistics">
            <Stat label="Total episodes" value={formatInteger(episodesDone)} testId="stat-episodes" />
            <Stat label="Average reward" value={formatNumber(run.summary.mean_reward)} testId="stat-mean-reward" />
            <Stat label="Max reward" value={formatNumber(run.summary.max_reward)} testId="stat-max-reward" />
            <Stat label="Final win rate" value={formatPercent(run.summary.final_win_rate)} testId="stat-win-rate" />
            <Stat label="Timesteps" value={formatInteger(run.summary.timesteps)} testId="stat-timesteps" />
          </section>

          {metrics && (
            <RunCharts
              runId={runId}
              specs={run.metric_specs}
              episodes={range ? metrics.episodes : allEpisodes}
              winRates={range ? metrics.rolling_win_rate : allWinRates}
              downsampled={metrics.downsampled}
              resolution={metrics.resolution}
              zoomed={range !== null}
              loadingFiner={range !== null && zoom.isFetching}
              onZoom={onZoom}
              onResetZoom={() => setRange(null)}
            />
          )}

          <EvaluationPanel
            runId={runId}
            evaluation={run.evaluation}
            evaluations={run.evaluations}
            status={run.metadata.evaluation_status}
          />
          {run.evaluations.length > 0 && <EvaluationCurve runId={runId} evaluations={run.evaluations} />}

          {rollouts.data && (
            <DiagnosticsSection
              runId={runId}
              rollouts={rollouts.data.rollouts}
              specs={rollouts.data.metric_specs ?? []}
            />
          )}

          <div className="detail-grid">
            <section className="card" aria-labelledby="info-h">
              <h2 id="info-h">Run information</h2>
              <dl className="info">
                <InfoRow label="Run ID">
                  <span className="mono">{run.run_id}</span>
                </InfoRow>
                <InfoRow label="Agent">{run.agent_id}</InfoRow>
                <InfoRow label="Algorithm">{run.algorithm}</InfoRow>
                <InfoRow label="Status">
                  <StatusBadge status={run.status} lost={isLost(run)} />
                </InfoRow>
                <InfoRow label="Start time">
                  <span title={run.start_time}>{formatDateTime(run.start_time)}</span>
                </InfoRow>
                <InfoRow label="End time">
                  <span title={run.end_time ?? undefined}>{formatDateTime(run.end_time)}</span>
                </InfoRow>
                <InfoRow label="Duration">
                  {run.status === "running"
                    ? `Running... ${formatDuration(elapsedSeconds(run.start_time, now))}`
                    : formatDuration(run.duration_seconds)}
                </InfoRow>
              </dl>
              <h3>Metadata</h3>
              <ConfigTree value={run.metadata} emptyText="No metadata recorded." />
            </section>
            <section className="card" aria-labelledby="config-h">
              <h2 id="config-h">Configuration</h2>
              <ConfigTree value={run.config} emptyText="No configuration recorded." />
            </section>
          </div>

          <section className="card" aria-labelledby="ckpt-h">
            <h2 id="ckpt-h">Checkpoints</h2>
            <CheckpointsTable checkpoints={run.checkpoint_paths} files={files.data} />
          </section>

          <TensorBoardHint metadata={run.metadata} />
        </>
      )}
    </div>
  );
}
