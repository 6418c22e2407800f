/** Run status as colour + icon + text, so it reads without colour vision too. */
import type { RunStatus } from "../api/types";

const ICONS: Record<RunStatus, string> = {
  running: "▶",
  completed: "✓",
  stopped: "■",
  failed: "✕",
};

/** `lost`: a failed run whose trainer vanished (no heartbeat; `metadata.error.type` "Lost"). */
export function StatusBadge({ status, lost = false }: { status: RunStatus; lost?: boolean }) {
  const shown = lost ? "lost" : status;
  return (
    <span className={`badge badge--${status}${lost ? " badge--lost" : ""}`} data-status={shown}>
      <span className="badge__icon" aria-hidden="true">
        {lost ? "?" : (ICONS[status] ?? "?")}
      </span>
      {shown}
    </span>
  );
}
