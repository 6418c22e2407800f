/** Where a run's TensorBoard logs are (``metadata.tensorboard_dir``, written by the trainer) and how to open them. */
import { CopyButton } from "../components/CopyButton";

export function TensorBoardHint({ metadata }: { metadata: Record<string, unknown> }) {
  const dir = typeof metadata.tensorboard_dir === "string" ? metadata.tensorboard_dir : null;
  const command = dir ? `tensorboard --logdir ${dir}` : null;
  return (
    <section className="card section" aria-labelledby="tb-h" data-testid="tensorboard-hint">
      <h2 id="tb-h">TensorBoard</h2>
      {command ? (
        <>
          <p className="muted">
            The trainer wrote this run&apos;s TensorBoard logs beside its checkpoints. On a machine that sees that
            folder (on Kubernetes: the checkpoint volume), open them with:
          </p>
          <p>
            <code className="code-inline" data-testid="tensorboard-command">
              {command}
            </code>{" "}
            <CopyButton text={command} label="Copy command" />
          </p>
          <p className="muted">then browse http://127.0.0.1:6006 (add --bind_all to reach it from elsewhere).</p>
        </>
      ) : (
        <p className="muted">TensorBoard logging was off for this run (tensorboard: false).</p>
      )}
    </section>
  );
}
