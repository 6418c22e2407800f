/**
 * The run page's Evaluation panel: the newest evaluation per opponent (win rate with its 95% Wilson
 * interval, wins/draws/losses, mean score margin with its interval, games, the checkpoint and timestep
 * evaluated, a link to replay its games) and the history of every evaluation (periodic, final, re-run).
 */
import { Link } from "react-router";
import type { Evaluation } from "../api/evaluation";
import { evaluationHistory } from "../lib/diagnostics";
import { formatDateTime, formatInteger, formatNumber, formatPercent } from "../lib/format";
import { gamePath } from "../lib/replay";

const baseName = (path: string) => path.split(/[\\/]/).pop() ?? path;

function signed(v: number): string {
  return `${v > 0 ? "+" : ""}${formatNumber(v)}`;
}

const TRIGGERS: Record<string, string> = {
  training: "after training",
  periodic: "during training",
  cli: "trainyard-train evaluate",
};

export function EvaluationPanel({
  runId,
  evaluation,
  evaluations,
  status,
}: {
  runId: string;
  evaluation: Evaluation | null | undefined;
  evaluations: readonly Evaluation[];
  status: unknown;
}) {
  const history = evaluationHistory(evaluations);
  return (
    <section className="card section" aria-labelledby="eval-h" data-testid="evaluation-panel">
      <h2 id="eval-h">Evaluation</h2>
      {!evaluation ? (
        <p className="muted" data-testid="evaluation-empty">
          {status === "running"
            ? "Evaluation games are being played…"
            : status === "failed"
              ? "The evaluation failed; see metadata.evaluation_error."
              : "No evaluation recorded for this run."}
        </p>
      ) : (
        <>
          <p className="muted">
            Checkpoint <span className="mono">{baseName(evaluation.checkpoint)}</span> at timestep{" "}
            <strong data-testid="evaluation-timestep">{formatInteger(evaluation.timestep)}</strong>,{" "}
            {evaluation.deterministic === false ? "sampled" : "deterministic"} policy, seats alternating, seeds{" "}
            {evaluation.seed}+i; {TRIGGERS[evaluation.trigger ?? "training"] ?? evaluation.trigger},{" "}
            {formatDateTime(evaluation.time)}.
          </p>
          <div className="table-wrap">
            <table className="data-table" data-testid="evaluation-results">
              <thead>
                <tr>
                  <th scope="col">Opponent</th>
                  <th scope="col" className="num">
                    Win rate
                  </th>
                  <th scope="col">95% interval</th>
                  <th scope="col" className="num">
                    W / D / L
                  </th>
                  <th scope="col" className="num">
                    Mean score margin
                  </th>
                  <th scope="col" className="num">
                    Games
                  </th>
                  <th scope="col">Games</th>
                </tr>
              </thead>
              <tbody>
                {(evaluation.results ?? []).map((r) => (
                  <tr key={r.opponent} data-testid="evaluation-row" data-opponent={r.opponent}>
                    <th scope="row">{r.opponent}</th>
                    <td className="num" data-testid="win-rate">
                      {formatPercent(r.win_rate)}
                    </td>
                    <td>
                      <span
                        className="ci"
                        aria-label={`from ${formatPercent(r.win_rate_ci.low)} to ${formatPercent(r.win_rate_ci.high)}`}
                      >
                        <span className="ci__bar">
                          <span
                            className="ci__range"
                            style={{
                              left: `${r.win_rate_ci.low * 100}%`,
                              width: `${(r.win_rate_ci.high - r.win_rate_ci.low) * 100}%`,
                            }}
                          />
                          <span className="ci__point" style={{ left: `${r.win_rate * 100}%` }} />
                        </span>
                        {formatPercent(r.win_rate_ci.low)}–{formatPercent(r.win_rate_ci.high)}
                      </span>
                    </td>
                    <td className="num">
                      {r.wins} / {r.draws ?? 0} / {r.losses ?? 0}
                    </td>
                    <td
                      className="num"
                      title={`95% t-interval ${signed(r.score_margin_ci.low)} to ${signed(r.score_margin_ci.high)}`}
                    >
                      {signed(r.mean_score_margin)}{" "}
                      <span className="muted">
                        [{signed(r.score_margin_ci.low)}, {signed(r.score_margin_ci.high)}]
                      </span>
                    </td>
                    <td className="num" data-testid="games">
                      {formatInteger(r.games)}
                    </td>
                    <td>
                      {r.games > 0 && (
                        <Link to={gamePath(runId, r.first_game ?? 1)} data-testid="replay-link">
                          Replay games
                        </Link>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      {history.length > 1 && (
        <details className="eval-history" data-testid="evaluation-history">
          <summary>History: {history.length} evaluations</summary>
          <div className="table-wrap table-wrap--scroll">
            <table className="data-table">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Trigger</th>
                  <th scope="col" className="num">
                    Timestep
                  </th>
                  <th scope="col">Checkpoint</th>
                  <th scope="col">Win rate per opponent</th>
                </tr>
              </thead>
              <tbody>
                {history.map((e) => (
                  <tr key={e.id} data-testid="evaluation-history-row">
                    <td>{formatDateTime(e.time)}</td>
                    <td>{TRIGGERS[e.trigger ?? "training"] ?? e.trigger}</td>
                    <td className="num">{formatInteger(e.timestep)}</td>
                    <td className="mono">{baseName(e.checkpoint)}</td>
                    <td>
                      {(e.results ?? []).map((r, i) => (
                        <span key={r.opponent}>
                          {i > 0 && " · "}
                          <Link to={gamePath(runId, r.first_game ?? 1)}>
                            {r.opponent} {formatPercent(r.win_rate, 0)}
                          </Link>{" "}
                          <span className="muted">({r.games})</span>
                        </span>
                      ))}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      )}
    </section>
  );
}
