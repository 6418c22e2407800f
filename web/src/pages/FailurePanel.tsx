/** Why a failed run failed, shown at the top of its detail page. */
import type { FailureInfo } from "../lib/failure";

export function FailurePanel({ failure }: { failure: FailureInfo | null }) {
  return (
    <section className="failure" role="alert" aria-label="Failure" data-testid="failure-panel">
      <h2>
        <span aria-hidden="true">✕ </span>
        This run failed
        {failure && (
          <>
            {": "}
            <span className="mono">{failure.type}</span>
          </>
        )}
      </h2>
      {!failure ? (
        <p>No failure details were recorded.</p>
      ) : (
        <>
          {failure.message && <p className="failure__message">{failure.message}</p>}
          <dl className="failure__facts">
            <div>
              <dt>Recorded by</dt>
              <dd>{failure.source === "operator" ? "operator (the pod or Job failed)" : "trainer (exception)"}</dd>
            </div>
            {failure.reason && (
              <div>
                <dt>Reason</dt>
                <dd>{failure.reason}</dd>
              </div>
            )}
            {failure.exitCode !== null && (
              <div>
                <dt>Exit code</dt>
                <dd className="mono">{failure.exitCode}</dd>
              </div>
            )}
            {failure.podReason && (
              <div>
                <dt>Pod reason</dt>
                <dd className="mono">{failure.podReason}</dd>
              </div>
            )}
          </dl>
          {failure.traceback.length > 0 && (
            <details open>
              <summary>Traceback</summary>
              <pre className="code-block">{failure.traceback.join("\n")}</pre>
            </details>
          )}
          {failure.logLines.length > 0 && (
            <details open={failure.traceback.length === 0}>
              <summary>Last log lines ({failure.logLines.length})</summary>
              <pre className="code-block">{failure.logLines.join("\n")}</pre>
            </details>
          )}
        </>
      )}
    </section>
  );
}
