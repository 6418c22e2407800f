import { describe, expect, it } from "vitest";
import { apiUrl } from "./client";
import { runExportUrl, runStreamUrl } from "./runs";
import { RUN_STATUSES, SORT_FIELDS } from "./types";

describe("apiUrl", () => {
  it("fills path parameters (encoded) and the query from the generated paths", () => {
    expect(apiUrl("/api/training-runs/{run_id}/export", { path: { run_id: "a b/c" }, query: { format: "csv" } })).toBe(
      "/api/training-runs/a%20b%2Fc/export?format=csv",
    );
  });

  it("leaves out absent query values", () => {
    expect(apiUrl("/api/training-runs", { query: { agent_id: undefined, limit: 5 } })).toBe(
      "/api/training-runs?limit=5",
    );
  });

  it("builds the export and stream URLs the detail page uses", () => {
    expect(runExportUrl("r1", "json")).toBe("/api/training-runs/r1/export?format=json");
    expect(runStreamUrl("r1", 42)).toBe("/api/training-runs/r1/stream?since_episode=42");
  });
});

describe("enums from the OpenAPI document", () => {
  it("lists every run status and sort field the API accepts", () => {
    expect(RUN_STATUSES).toEqual(["running", "completed", "stopped", "failed"]);
    expect(SORT_FIELDS).toContain("start_time");
    expect(SORT_FIELDS.some((f) => f.startsWith("-"))).toBe(false);
  });
});
