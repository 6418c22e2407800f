/**
 * A Blokus board as SVG: each cell in its seat's colour (empty cells light), the cells of the last
 * move outlined. Rows of -1 (empty) or the seat, as the API's `boards` give them.
 */
export const SEAT_COLORS = ["#6a3fb5", "#e07b00", "#0072B2", "#009E73"] as const;
export const SEAT_NAMES = ["purple", "orange", "blue", "green"] as const;

const CELL = 28;

export function BlokusBoard({
  board,
  highlight,
}: {
  board: readonly (readonly number[])[];
  highlight: readonly number[];
}) {
  const size = board.length;
  const marked = new Set(highlight);
  return (
    <svg
      className="board"
      viewBox={`0 0 ${size * CELL} ${size * CELL}`}
      width={size * CELL}
      height={size * CELL}
      role="img"
      aria-label={`Blokus board, ${size}×${size}`}
      data-testid="board"
    >
      {board.map((row, r) =>
        row.map((seat, c) => (
          <rect
            key={r * size + c}
            x={c * CELL + 1}
            y={r * CELL + 1}
            width={CELL - 2}
            height={CELL - 2}
            rx={3}
            fill={seat < 0 ? "#eef1f5" : SEAT_COLORS[seat % SEAT_COLORS.length]}
            data-cell={r * size + c}
            data-seat={seat}
          />
        )),
      )}
      {[...marked].map((cell) => {
        const r = Math.floor(cell / size);
        const c = cell % size;
        return (
          <rect
            key={`h${cell}`}
            x={c * CELL + 2.5}
            y={r * CELL + 2.5}
            width={CELL - 5}
            height={CELL - 5}
            rx={3}
            fill="none"
            stroke="#111"
            strokeWidth={3}
            data-testid="last-move-cell"
          />
        );
      })}
    </svg>
  );
}
