import { describe, expect, it } from "vitest";
import {
  DEFAULT_SORT,
  EMPTY_FILTERS,
  filtersToParams,
  hasActiveFilters,
  localDayStart,
  parseRunIds,
  parseFilters,
  toggleSort,
  toListQuery,
  type ListFilters,
} from "./filters";

const full: ListFilters = {
  agent: "ppo_agent",
  status: "running",
  algorithm: "MaskablePPO",
  q: "abc",
  after: "2024-01-01",
  before: "2024-01-31",
  sort: { field: "episodes", desc: false },
  page: 3,
};

describe("filters <-> URL search params", () => {
  it("round-trips every field", () => {
    const params = filtersToParams(full);
    expect(params.toString()).toBe(
      "agent=ppo_agent&status=running&algorithm=MaskablePPO&q=abc&after=2024-01-01&before=2024-01-31&sort=episodes&page=3",
    );
    expect(parseFilters(new URLSearchParams(params.toString()))).toEqual(full);
  });

  it("leaves defaults out of the URL", () => {
    expect(filtersToParams(EMPTY_FILTERS).toString()).toBe("");
    expect(parseFilters(new URLSearchParams(""))).toEqual(EMPTY_FILTERS);
  });

  it("writes descending sorts with a leading minus", () => {
    expect(filtersToParams({ ...EMPTY_FILTERS, sort: { field: "final_metric", desc: true } }).get("sort")).toBe(
      "-final_metric",
    );
  });

  it("ignores invalid values instead of failing", () => {
    const parsed = parseFilters(
      new URLSearchParams("status=exploded&sort=-bogus&after=2024-02-30&before=yesterday&page=-2"),
    );
    expect(parsed).toEqual(EMPTY_FILTERS);
  });

  it("keeps unrelated filters when one changes", () => {
    const params = filtersToParams({ ...full, status: "" });
    expect(parseFilters(params)).toEqual({ ...full, status: "" });
  });
});

describe("hasActiveFilters", () => {
  it("is false for sort and page alone", () => {
    expect(hasActiveFilters({ ...EMPTY_FILTERS, sort: { field: "run_id", desc: false }, page: 2 })).toBe(false);
    expect(hasActiveFilters({ ...EMPTY_FILTERS, q: "  " })).toBe(false);
    expect(hasActiveFilters({ ...EMPTY_FILTERS, agent: "a" })).toBe(true);
  });
});

describe("parseRunIds", () => {
  it("splits, trims, deduplicates and caps the compare list", () => {
    expect(parseRunIds(" a, b,,a ,c")).toEqual(["a", "b", "c"]);
    expect(parseRunIds(null)).toEqual([]);
    expect(parseRunIds("1,2,3,4,5,6,7,8,9,10")).toHaveLength(8);
    expect(parseRunIds("a,b,c", 2)).toEqual(["a", "b"]);
  });
});

describe("toggleSort", () => {
  it("flips the direction of the current column", () => {
    expect(toggleSort(DEFAULT_SORT, "start_time")).toEqual({ field: "start_time", desc: false });
  });
  it("starts text columns ascending and numeric ones descending", () => {
    expect(toggleSort(DEFAULT_SORT, "agent_id")).toEqual({ field: "agent_id", desc: false });
    expect(toggleSort(DEFAULT_SORT, "episodes")).toEqual({ field: "episodes", desc: true });
  });
});

describe("toListQuery", () => {
  it("maps filters onto the list endpoint's parameters", () => {
    expect(toListQuery(full, 50)).toEqual({
      agent_id: "ppo_agent",
      status: "running",
      algorithm: "MaskablePPO",
      q: "abc",
      started_after: new Date(2024, 0, 1).toISOString(),
      // the "before" day is included: the bound is the start of the next local day
      started_before: new Date(2024, 1, 1).toISOString(),
      sort: "episodes",
      limit: 50,
      offset: 100,
    });
  });

  it("sends only sort and paging without filters", () => {
    expect(toListQuery(EMPTY_FILTERS, 20)).toEqual({ sort: "-start_time", limit: 20, offset: 0 });
  });

  it("rejects malformed dates", () => {
    expect(() => localDayStart("2024/01/01")).toThrow();
  });
});
