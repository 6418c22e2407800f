import { describe, expect, it } from "vitest";
import { extractFailure } from "./failure";

describe("extractFailure", () => {
  it("reads a trainer exception", () => {
    expect(
      extractFailure({
        error: {
          type: "ValueError",
          message: "bad shape",
          traceback: ["File x", "ValueError: bad shape"],
          source: "trainer",
        },
      }),
    ).toEqual({
      source: "trainer",
      type: "ValueError",
      message: "bad shape",
      traceback: ["File x", "ValueError: bad shape"],
      reason: null,
      exitCode: null,
      podReason: null,
      logLines: [],
    });
  });

  it("reads an operator-recorded pod failure", () => {
    const f = extractFailure({
      error: {
        type: "OOMKilled",
        message: "container trainer was OOM-killed",
        reason: "PodFailed",
        exit_code: 137,
        pod_reason: "OOMKilled",
        log_lines: ["step 100", "Killed"],
        source: "operator",
      },
    });
    expect(f).toMatchObject({
      source: "operator",
      exitCode: 137,
      podReason: "OOMKilled",
      logLines: ["step 100", "Killed"],
    });
  });

  it("splits a string traceback into lines and accepts a bare string error", () => {
    expect(extractFailure({ error: { type: "E", message: "m", traceback: "a\nb\n" } })?.traceback).toEqual(["a", "b"]);
    expect(extractFailure({ error: "boom" })?.message).toBe("boom");
  });

  it("is null without an error record", () => {
    expect(extractFailure({})).toBeNull();
    expect(extractFailure(undefined)).toBeNull();
  });
});
