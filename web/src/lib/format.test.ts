import { describe, expect, it } from "vitest";
import {
  elapsedSeconds,
  formatBytes,
  formatDateTime,
  formatDuration,
  formatInteger,
  formatPercent,
  shortId,
} from "./format";

describe("format", () => {
  it("formats durations", () => {
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(42.7)).toBe("42s");
    expect(formatDuration(125)).toBe("2m 5s");
    expect(formatDuration(9000)).toBe("2h 30m 0s");
    expect(formatDuration(2 * 86400 + 3 * 3600 + 60)).toBe("2d 3h 1m");
  });

  it("formats local date-times", () => {
    expect(formatDateTime(new Date(2024, 0, 2, 3, 4, 5))).toBe("2024-01-02 03:04:05");
    expect(formatDateTime(null)).toBe("—");
    expect(formatDateTime("not a date")).toBe("—");
  });

  it("formats numbers", () => {
    expect(formatPercent(0.625)).toBe("62.5%");
    expect(formatInteger(12345)).toBe("12,345");
    expect(formatPercent(null)).toBe("—");
  });

  it("formats byte sizes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(5 * 1024 ** 3)).toBe("5.0 GiB");
    expect(formatBytes(undefined)).toBe("—");
  });

  it("shortens long IDs keeping both ends", () => {
    expect(shortId("550e8400-e29b-41d4-a716-446655440000")).toBe("550e8400-e29…440000");
    expect(shortId("ppo-blokus-a1b2c3d4")).toBe("ppo-blokus-a1b2c3d4");
    expect(shortId("smoke-1")).toBe("smoke-1");
    expect(shortId("abcdef", 2, 2)).toBe("ab…ef");
  });

  it("measures elapsed time from an ISO start", () => {
    expect(elapsedSeconds("2024-01-01T00:00:00Z", Date.UTC(2024, 0, 1, 0, 1, 30))).toBe(90);
    expect(elapsedSeconds("garbage", 0)).toBe(0);
  });
});
