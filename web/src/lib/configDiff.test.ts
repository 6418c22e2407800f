import { describe, expect, it } from "vitest";
import { diffConfigs, flattenConfig, formatConfigValue } from "./configDiff";

describe("flattenConfig", () => {
  it("flattens nested objects into dotted keys, keeping arrays and empty objects as leaves", () => {
    expect(flattenConfig({ lr: 0.0003, ppo: { n_steps: 2048, net: { pi: [64, 64] } }, env: {}, tags: ["a"] })).toEqual({
      lr: 0.0003,
      "ppo.n_steps": 2048,
      "ppo.net.pi": [64, 64],
      env: {},
      tags: ["a"],
    });
  });

  it("returns nothing for non-objects", () => {
    expect(flattenConfig(null)).toEqual({});
    expect(flattenConfig(3)).toEqual({});
  });
});

describe("diffConfigs", () => {
  it("lists only keys whose values differ, sorted, with undefined for missing keys", () => {
    const a = { lr: 0.001, seed: 1, ppo: { n_steps: 2048, gamma: 0.99 }, mode: "full" };
    const b = { lr: 0.0003, seed: 1, ppo: { n_steps: 2048, gamma: 0.95 }, mode: "full", extra: true };
    expect(diffConfigs([a, b])).toEqual([
      { key: "extra", values: [undefined, true] },
      { key: "lr", values: [0.001, 0.0003] },
      { key: "ppo.gamma", values: [0.99, 0.95] },
    ]);
  });

  it("treats equal arrays and reordered object keys as equal", () => {
    expect(
      diffConfigs([
        { net: [64, 64], o: [{ a: 1, b: 2 }] },
        { net: [64, 64], o: [{ b: 2, a: 1 }] },
      ]),
    ).toEqual([]);
    expect(diffConfigs([{ net: [64, 64] }, { net: [64, 32] }])).toEqual([
      {
        key: "net",
        values: [
          [64, 64],
          [64, 32],
        ],
      },
    ]);
  });

  it("compares more than two runs: a key differs if any run differs", () => {
    expect(
      diffConfigs([
        { x: 1, y: 2 },
        { x: 1, y: 2 },
        { x: 1, y: 3 },
      ]),
    ).toEqual([{ key: "y", values: [2, 2, 3] }]);
  });

  it("distinguishes null from a missing key", () => {
    expect(diffConfigs([{ x: null }, {}])).toEqual([{ key: "x", values: [null, undefined] }]);
  });
});

describe("formatConfigValue", () => {
  it("formats values for display", () => {
    expect(formatConfigValue(undefined)).toBe("—");
    expect(formatConfigValue("full")).toBe("full");
    expect(formatConfigValue(0.5)).toBe("0.5");
    expect(formatConfigValue([1, 2])).toBe("[1,2]");
    expect(formatConfigValue(null)).toBe("null");
  });
});
