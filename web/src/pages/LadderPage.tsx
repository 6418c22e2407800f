/**
 * `/ladder?id=…`: an Elo ladder (``trainyard-train ladder``): the leaderboard (rating with its 95%
 * interval, anchored so that `random` = 1000 in every ladder) and the head-to-head matrix of scores.
 * Without an id, the newest ladder; a selector lists the others.
 */
import { Link, useSearchParams } from "react-router";
import { useLadders } from "../api/evaluation";
import { ApiStatusBanner } from "../components/ApiStatusBanner";
import { SkeletonBlock } from "../components/Skeleton";
import { formatDateTime, formatInteger } from "../lib/format";
import { headToHead, leaderboard } from "../lib/ladder";

const elo = (v: number) => (Math.abs(v) >= 1e8 ? "∞" : v.toFixed(0));

/** Cell background from red (0) through white (0.5) to green (1). */
function heat(score: number): string {
  const t = Math.max(-1, Math.min(1, (score - 0.5) * 2));
  return t >= 0 ? `rgba(19, 122, 59, ${0.08 + 0.45 * t})` : `rgba(180, 35, 24, ${0.08 + 0.45 * -t})`;
}

export function LadderPage() {
  const [params, setParams] = useSearchParams();
  const ladders = useLadders();
  const list = ladders.data ?? [];
  const ladder = list.find((l) => l.id === params.get("id")) ?? list[0];
  return (
    <div className="page">
      <title>Elo ladder · Trainyard</title>
      <div className="page__header">
        <div>
          <h1>Elo ladder</h1>
          <p className="muted">
            A fixed-seed round robin between checkpoints and the built-in opponents, rated on the Elo scale with the
            anchor held at 1000, so ratings compare across ladders. Play one with{" "}
            <code className="code-inline">trainyard-train ladder --run-id RUN [--run-id RUN2] --games 20</code>.
          </p>
        </div>
        {list.length > 1 && (
          <div className="field">
            <label htmlFor="ladder-select">Ladder</label>
            <select
              id="ladder-select"
              value={ladder?.id}
              onChange={(e) => setParams({ id: e.target.value })}
              data-testid="ladder-select"
            >
              {list.map((l) => (
                <option key={l.id} value={l.id}>
                  {l.name} · {formatDateTime(l.time)}
                </option>
              ))}
            </select>
          </div>
        )}
      </div>
      <ApiStatusBanner errors={[ladders.failureReason]} />
      {!ladders.data ? (
        <SkeletonBlock height={240} />
      ) : !ladder ? (
        <div className="empty-state" data-testid="ladder-empty">
          No ladder has been played yet.
        </div>
      ) : (
        <LadderView ladder={ladder} />
      )}
    </div>
  );
}

function LadderView({ ladder }: { ladder: NonNullable<ReturnType<typeof useLadders>["data"]>[number] }) {
  const board = leaderboard(ladder);
  const matrix = headToHead(ladder);
  return (
    <>
      <p className="muted" data-testid="ladder-info">
        {ladder.name} · {ladder.env_id} · {formatInteger(ladder.games_per_pair)} games per pair, seats alternating,
        seeds {ladder.seed}+i · anchor {ladder.anchor} = {ladder.anchor_rating} · {formatDateTime(ladder.time)}
      </p>
      <div className="detail-grid">
        <section className="card section" aria-labelledby="lb-h">
          <h2 id="lb-h">Leaderboard</h2>
          <table className="data-table" data-testid="leaderboard">
            <thead>
              <tr>
                <th scope="col" className="num">
                  #
                </th>
                <th scope="col">Player</th>
                <th scope="col" className="num">
                  Elo
                </th>
                <th scope="col">95% interval</th>
                <th scope="col" className="num">
                  W / D / L
                </th>
              </tr>
            </thead>
            <tbody>
              {board.map((p) => (
                <tr key={p.name} data-testid="ladder-row" data-player={p.name}>
                  <td className="num">{p.rank}</td>
                  <td>
                    {p.run_id ? (
                      <Link to={`/training/${encodeURIComponent(p.run_id)}`} className="mono">
                        {p.name}
                      </Link>
                    ) : (
                      <span>{p.name}</span>
                    )}
                    {p.anchor && <span className="muted"> (anchor)</span>}
                  </td>
                  <td className="num" data-testid="rating">
                    {elo(p.rating)}
                  </td>
                  <td data-testid="rating-ci">
                    {p.anchor ? "fixed" : `${elo(p.rating_ci?.low ?? p.rating)}–${elo(p.rating_ci?.high ?? p.rating)}`}
                  </td>
                  <td className="num">
                    {p.wins} / {p.draws} / {p.losses}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section className="card section" aria-labelledby="h2h-h">
          <h2 id="h2h-h">Head to head</h2>
          <p className="muted">Row player&apos;s score against the column player (wins + ½ draws).</p>
          <div className="table-wrap">
            <table className="data-table h2h" data-testid="head-to-head">
              <thead>
                <tr>
                  <th scope="col" />
                  {matrix.players.map((name) => (
                    <th key={name} scope="col" className="h2h__col mono">
                      {name}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {matrix.players.map((row, r) => (
                  <tr key={row}>
                    <th scope="row" className="mono">
                      {row}
                    </th>
                    {matrix.cells[r].map((cell, c) => (
                      <td
                        key={c}
                        className="num"
                        data-testid="h2h-cell"
                        data-row={row}
                        data-col={matrix.players[c]}
                        style={cell.score === null ? undefined : { background: heat(cell.score) }}
                        title={cell.games ? `${cell.wins} W / ${cell.draws} D / ${cell.losses} L` : undefined}
                      >
                        {cell.score === null ? "—" : `${Math.round(cell.score * 100)}%`}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      </div>
    </>
  );
}
