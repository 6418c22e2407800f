/**
 * Reads the failure record from a run's metadata (`metadata.error`, written by the trainer on an
 * exception or by the operator when the pod died) into a view type for the detail page. Pure.
 */

export interface FailureInfo {
  /** "trainer" (an exception) or "operator" (the pod/Job failed). */
  source: string;
  type: string;
  message: string;
  traceback: string[];
  reason: string | null;
  exitCode: number | null;
  podReason: string | null;
  logLines: string[];
}

const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);

function lines(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === "string" && v !== "") return v.replace(/\n$/, "").split("\n");
  return [];
}

/** The failure record of a run, or null when its metadata holds none. */
export function extractFailure(metadata: Record<string, unknown> | null | undefined): FailureInfo | null {
  const raw = metadata?.error;
  if (typeof raw === "string") {
    return {
      source: "trainer",
      type: "Error",
      message: raw,
      traceback: [],
      reason: null,
      exitCode: null,
      podReason: null,
      logLines: [],
    };
  }
  if (typeof raw !== "object" || raw === null) return null;
  const e = raw as Record<string, unknown>;
  const exitCode = typeof e.exit_code === "number" ? e.exit_code : null;
  return {
    source: str(e.source) ?? "trainer",
    type: str(e.type) ?? str(e.error_type) ?? "Error",
    message: str(e.message) ?? "",
    traceback: lines(e.traceback),
    reason: str(e.reason),
    exitCode,
    podReason: str(e.pod_reason),
    logLines: lines(e.log_lines),
  };
}
