/** Series colours: Okabe–Ito based, distinguishable with the common colour-vision deficiencies. */
export const SERIES_COLORS = [
  "#0072B2", // blue
  "#D55E00", // vermillion
  "#009E73", // bluish green
  "#CC79A7", // reddish purple
  "#E69F00", // orange
  "#56B4E9", // sky blue
  "#4D4D4D", // dark grey
  "#999933", // olive
] as const;

/** `#rrggbb` with an alpha suffix, for faint raw lines and band fills. */
export function withAlpha(hex: string, alpha: number): string {
  const a = Math.round(Math.min(1, Math.max(0, alpha)) * 255)
    .toString(16)
    .padStart(2, "0");
  return `${hex}${a}`;
}
