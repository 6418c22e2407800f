/**
 * `/training/:runId/games/:n/:move?`: one evaluation game, replayed. Every position has its own URL
 * (move 0 is the empty board; no move segment: the final position). Step with the buttons or the
 * arrow keys (Home/End: first/last, space: play/pause); the score after the move and, at the end,
 * who won. Data: `useGame` (boards rebuilt by the API), the run's evaluations for the game's context.
 */
import { useEffect, useEffectEvent, useMemo, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { ApiError } from "../api/client";
import { useGame } from "../api/evaluation";
import { useRunDetail } from "../api/runs";
import { ApiStatusBanner } from "../components/ApiStatusBanner";
import { BlokusBoard, SEAT_COLORS, SEAT_NAMES } from "../components/BlokusBoard";
import { SkeletonBlock } from "../components/Skeleton";
import { formatInteger } from "../lib/format";
import { gamePath, moveCells, outcome, parseMove, scoreAfter } from "../lib/replay";
import { NotFoundPage } from "./NotFoundPage";

const PLAY_INTERVAL_MS = 450;

export function GameReplayPage() {
  const { runId = "", n: nParam = "", move: moveParam } = useParams();
  const n = Number(nParam);
  const navigate = useNavigate();
  const game = useGame(runId, n);
  const run = useRunDetail(runId, { maxPoints: 10 }); // only its evaluations are used
  const [playing, setPlaying] = useState(false);

  const g = game.data;
  const total = g?.moves.length ?? 0;
  const move = parseMove(moveParam, total);
  const cells = useMemo(() => (g ? moveCells(g) : []), [g]);

  const goTo = (m: number) => {
    if (!g) return;
    const next = Math.min(Math.max(0, m), total);
    if (next !== move || moveParam === undefined) void navigate(gamePath(runId, n, next), { replace: true });
  };

  // Playing stops by itself at the last move.
  const isPlaying = playing && move < total;
  const advance = useEffectEvent(() => goTo(move + 1));
  useEffect(() => {
    if (!isPlaying) return;
    const t = setTimeout(advance, PLAY_INTERVAL_MS);
    return () => clearTimeout(t);
  }, [isPlaying, move]);

  const togglePlay = () => {
    if (isPlaying) return setPlaying(false);
    if (move >= total) goTo(0);
    setPlaying(true);
  };

  const onKey = useEffectEvent((e: KeyboardEvent) => {
    const target = e.target as HTMLElement | null;
    if (target && ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) return;
    if (e.key === "ArrowRight") goTo(move + 1);
    else if (e.key === "ArrowLeft") goTo(move - 1);
    else if (e.key === "Home") goTo(0);
    else if (e.key === "End") goTo(total);
    else if (e.key === " ") togglePlay();
    else return;
    e.preventDefault();
  });
  useEffect(() => {
    const handler = (e: KeyboardEvent) => onKey(e);
    window.addEventListener("keydown", handler);
    return () => window.removeEventListener("keydown", handler);
  }, []);

  if (game.error instanceof ApiError && game.error.isNotFound) {
    return <NotFoundPage title="Game not found" detail={game.error.detail} />;
  }

  const evaluation = run.data?.evaluations.find((e) => e.id === g?.evaluation_id);
  const result = evaluation?.results?.find((r) => r.opponent === g?.opponent);
  const firstGame = result?.first_game ?? n;
  const lastGame = result ? firstGame + result.games - 1 : n;

  const board = g ? (move === 0 ? g.boards[0].map((row) => row.map(() => -1)) : g.boards[move - 1]) : null;
  const scores = g ? scoreAfter(g, move) : [];
  const end = g ? outcome(g) : null;
  const lastSeat = g && move > 0 ? g.seats[move - 1] : null;
  const seatLabel = (seat: number) =>
    `${SEAT_NAMES[seat % SEAT_NAMES.length]} (${seat === g?.agent_seat ? "agent" : g?.opponent})`;

  return (
    <div className="page replay">
      <title>{`Game ${n} · ${runId} · Trainyard`}</title>
      <nav className="breadcrumbs" aria-label="Breadcrumb">
        <Link to="/training">Training History</Link> <span aria-hidden="true">/</span>{" "}
        <Link to={`/training/${encodeURIComponent(runId)}`} className="mono">
          {runId}
        </Link>{" "}
        <span aria-hidden="true">/</span> <span>Game {n}</span>
      </nav>
      <ApiStatusBanner errors={[game.failureReason]} />
      {!g || !board ? (
        <SkeletonBlock height={420} />
      ) : (
        <>
          <div className="page__header">
            <div>
              <h1>
                Game {n}: agent vs {g.opponent}
              </h1>
              <p className="muted">
                {g.variant} · agent plays {SEAT_NAMES[g.agent_seat]} (seat {g.agent_seat}) · seed {g.seed}
                {evaluation && (
                  <>
                    {" "}
                    · evaluation at timestep {formatInteger(evaluation.timestep)}, game {n - firstGame + 1} of{" "}
                    {lastGame - firstGame + 1} against {g.opponent}
                  </>
                )}
              </p>
            </div>
            <div className="page__actions">
              {n > firstGame && (
                <Link className="button" to={gamePath(runId, n - 1)} data-testid="prev-game">
                  ← Game {n - 1}
                </Link>
              )}
              {n < lastGame && (
                <Link className="button" to={gamePath(runId, n + 1)} data-testid="next-game">
                  Game {n + 1} →
                </Link>
              )}
            </div>
          </div>
          <div className="replay__body">
            <div className="card replay__board">
              <BlokusBoard board={board} highlight={move > 0 ? cells[move - 1] : []} />
            </div>
            <div className="card replay__side">
              <div className="replay__controls" role="group" aria-label="Replay controls">
                <button
                  type="button"
                  className="button"
                  onClick={() => goTo(0)}
                  aria-label="First move"
                  data-testid="first"
                >
                  «
                </button>
                <button
                  type="button"
                  className="button"
                  onClick={() => goTo(move - 1)}
                  aria-label="Previous move"
                  data-testid="prev"
                >
                  ◀
                </button>
                <button
                  type="button"
                  className="button button--primary"
                  onClick={togglePlay}
                  aria-label={isPlaying ? "Pause" : "Play"}
                  data-testid="play"
                >
                  {isPlaying ? "⏸ Pause" : "▶ Play"}
                </button>
                <button
                  type="button"
                  className="button"
                  onClick={() => goTo(move + 1)}
                  aria-label="Next move"
                  data-testid="next"
                >
                  ▶
                </button>
                <button
                  type="button"
                  className="button"
                  onClick={() => goTo(total)}
                  aria-label="Last move"
                  data-testid="last"
                >
                  »
                </button>
              </div>
              <input
                type="range"
                min={0}
                max={total}
                value={move}
                onChange={(e) => goTo(Number(e.target.value))}
                aria-label="Move"
                className="replay__slider"
              />
              <p data-testid="move-label">
                Move <strong>{move}</strong> of {total}
                {lastSeat !== null && <> · played by {seatLabel(lastSeat)}</>}
              </p>
              <table className="data-table" data-testid="scores">
                <thead>
                  <tr>
                    <th scope="col">Seat</th>
                    <th scope="col" className="num">
                      Squares
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {scores.map((s, seat) => (
                    <tr key={seat} data-testid="score-row" data-seat={seat}>
                      <td>
                        <span className="legend__swatch" style={{ background: SEAT_COLORS[seat] }} /> {seatLabel(seat)}
                      </td>
                      <td className="num" data-testid="score">
                        {s}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {move === total && end && (
                <p className={`replay__result replay__result--${end.result}`} data-testid="result">
                  {end.result === "draw"
                    ? "Draw"
                    : end.result === "win"
                      ? `The agent won by ${end.margin}`
                      : `${g.opponent} won by ${-end.margin}`}{" "}
                  (final score {g.scores.join(" : ")})
                </p>
              )}
              <p className="muted small">Keys: ← → step, Home/End, space plays.</p>
            </div>
          </div>
        </>
      )}
    </div>
  );
}
