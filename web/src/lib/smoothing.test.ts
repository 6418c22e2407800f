import { describe, expect, it } from "vitest";
import { emaSmooth } from "./smoothing";

describe("emaSmooth", () => {
  it("returns the values unchanged at weight 0", () => {
    expect(emaSmooth([1, 5, -2], 0)).toEqual([1, 5, -2]);
  });

  it("debiases like TensorBoard so the first point is not pulled towards zero", () => {
    const out = emaSmooth([1, 2, 3], 0.5);
    expect(out[0]).toBeCloseTo(1, 10);
    expect(out[1]).toBeCloseTo(1.25 / 0.75, 10); // 1.6667
    expect(out[2]).toBeCloseTo(2.125 / 0.875, 10); // 2.4286
  });

  it("keeps a constant series constant", () => {
    for (const v of emaSmooth([4, 4, 4, 4], 0.9)) expect(v).toBeCloseTo(4, 10);
  });

  it("leaves gaps as gaps without resetting the average", () => {
    const out = emaSmooth([2, null, Number.NaN, 4], 0.5);
    expect(out[1]).toBeNull();
    expect(out[2]).toBeNull();
    expect(out[0]).toBeCloseTo(2, 10);
    expect(out[3]).toBeCloseTo((0.5 * 1 + 0.5 * 4) / 0.75, 10); // 3.3333
  });

  it("rejects weights outside [0, 1)", () => {
    expect(() => emaSmooth([1], 1)).toThrow(RangeError);
    expect(() => emaSmooth([1], -0.1)).toThrow(RangeError);
  });

  it("handles 100k points quickly", () => {
    const values = Array.from({ length: 100_000 }, (_, i) => Math.sin(i));
    const t0 = performance.now();
    expect(emaSmooth(values, 0.95)).toHaveLength(100_000);
    expect(performance.now() - t0).toBeLessThan(200);
  });
});
