/**
 * A run's saved checkpoints, newest first. Where the API finds the checkpoint's file on the shared
 * volume (`files`), the row links to its download.
 */
import type { Checkpoint, CheckpointFile } from "../api/types";
import { CopyButton } from "../components/CopyButton";
import { formatBytes, formatDateTime, formatInteger } from "../lib/format";

const baseName = (path: string) => path.split(/[\\/]/).pop() ?? path;

export function CheckpointsTable({
  checkpoints,
  files = [],
}: {
  checkpoints: readonly Checkpoint[];
  files?: readonly CheckpointFile[];
}) {
  if (checkpoints.length === 0) return <p className="muted">No checkpoints saved yet.</p>;
  const rows = [...checkpoints].sort((a, b) => b.episode - a.episode);
  const byName = new Map(files.map((f) => [f.name, f]));
  const anyFile = rows.some((c) => byName.has(baseName(c.path)));
  return (
    <div className="table-wrap table-wrap--scroll">
      <table className="data-table" data-testid="checkpoints">
        <thead>
          <tr>
            <th scope="col" className="num">
              Episode
            </th>
            <th scope="col" className="num">
              Timestep
            </th>
            <th scope="col">Path</th>
            <th scope="col">Time</th>
            {anyFile && <th scope="col">File</th>}
          </tr>
        </thead>
        <tbody>
          {rows.map((c) => {
            const file = byName.get(baseName(c.path));
            return (
              <tr key={`${c.episode}-${c.path}`}>
                <td className="num">{formatInteger(c.episode)}</td>
                <td className="num">{formatInteger(c.timestep)}</td>
                <td>
                  <span className="mono">{c.path}</span> <CopyButton text={c.path} label="Copy path" />
                </td>
                <td title={c.time ?? undefined}>{formatDateTime(c.time)}</td>
                {anyFile && (
                  <td>
                    {file ? (
                      <a href={file.url} download={file.name}>
                        Download ({formatBytes(file.size_bytes)})
                      </a>
                    ) : (
                      <span className="muted">not on the volume</span>
                    )}
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
