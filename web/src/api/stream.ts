/**
 * Live updates of a running run over server-sent events (`/stream`): new episodes and win-rate
 * points, the run's summary on every change, and `end` once the run is terminal. Reconnects with
 * the last episode it has after an error, so nothing is appended twice.
 */
import { useEffect, useEffectEvent, useState } from "react";
import { appendByEpisode } from "../lib/series";
import { runStreamUrl } from "./runs";
import { normalizeSummary } from "./normalize";
import type { Episode, EpisodesEvent, RunSummary, WinRatePoint, WireRunSummary } from "./types";

export interface LiveRun {
  episodes: Episode[];
  winRates: WinRatePoint[];
  /** The latest `status` event (summary statistics, status, end time). */
  summary: RunSummary | null;
  connected: boolean;
  ended: boolean;
}

const INITIAL: LiveRun = { episodes: [], winRates: [], summary: null, connected: false, ended: false };
const RECONNECT_MS = 2000;

function parse<T>(event: MessageEvent): T | null {
  try {
    return JSON.parse(event.data as string) as T;
  } catch {
    return null;
  }
}

/**
 * Follow a run while `enabled`. `sinceEpisode` is read when the stream (re)opens: pass the last
 * episode already shown. `onEnd` is called once when the server says the run is terminal.
 */
export function useRunStream(runId: string, enabled: boolean, sinceEpisode: number, onEnd: () => void): LiveRun {
  const [live, setLive] = useState<LiveRun>(INITIAL);
  // Read when the stream opens, without reopening it when new history arrives.
  const startEpisode = useEffectEvent(() => sinceEpisode);
  const ended = useEffectEvent(() => onEnd());

  useEffect(() => {
    if (!enabled) return;
    const since = { current: startEpisode() };
    let source: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let closed = false;

    const open = () => {
      source = new EventSource(runStreamUrl(runId, since.current));
      source.onopen = () => setLive((s) => ({ ...s, connected: true }));
      source.addEventListener("episodes", (event) => {
        const data = parse<EpisodesEvent>(event as MessageEvent);
        if (!data) return;
        for (const ep of data.episodes ?? []) since.current = Math.max(since.current, ep.episode);
        setLive((s) => ({
          ...s,
          episodes: appendByEpisode(s.episodes, data.episodes ?? []),
          winRates: appendByEpisode(s.winRates, data.rolling_win_rate ?? []),
        }));
      });
      source.addEventListener("status", (event) => {
        const data = parse<WireRunSummary>(event as MessageEvent);
        if (data) setLive((s) => ({ ...s, summary: normalizeSummary(data) }));
      });
      source.addEventListener("end", () => {
        closed = true;
        source?.close();
        setLive((s) => ({ ...s, connected: false, ended: true }));
        ended();
      });
      source.onerror = () => {
        if (closed) return;
        // Reopen ourselves (not EventSource's automatic retry) so since_episode is current.
        source?.close();
        setLive((s) => ({ ...s, connected: false }));
        retry = setTimeout(open, RECONNECT_MS);
      };
    };
    open();

    return () => {
      closed = true;
      clearTimeout(retry);
      source?.close();
      setLive(INITIAL);
    };
  }, [runId, enabled]);

  return live;
}
