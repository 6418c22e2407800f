/**
 * Exponential moving average with TensorBoard's debiasing, for the charts' smoothing slider.
 * Pure; gaps (null / non-finite values) stay gaps and do not reset the average.
 */

export function emaSmooth(values: readonly (number | null)[], weight: number): (number | null)[] {
  if (!(weight >= 0 && weight < 1)) throw new RangeError(`smoothing weight must be in [0, 1): ${weight}`);
  if (weight === 0) return values.map((v) => (v !== null && Number.isFinite(v) ? v : null));
  const out: (number | null)[] = new Array(values.length);
  let last = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || !Number.isFinite(v)) {
      out[i] = null;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    count += 1;
    out[i] = last / (1 - weight ** count);
  }
  return out;
}
