/** Run status as colour + icon + text, so it reads without colour vision too. */
import type { RunStatus } from "../api/types";

const ICONS: Record<RunStatus, string> = {
  running: "▶",
  completed: "✓",
  stopped: "■",
  failed: "✕",
};

export function StatusBadge({ status }: { status: RunStatus }) {
  return (
    <span className={`badge badge--${status}`} data-status={status}>
      <span className="badge__icon" aria-hidden="true">
        {ICONS[status] ?? "?"}
      </span>
      {status}
    </span>
  );
}
