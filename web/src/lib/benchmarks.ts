/**
 * Shaping `/api/benchmarks` for the Benchmarks page: each opponent's ranking split into one table
 * per timestep budget (agents trained for different budgets are never ranked against each other),
 * ranks renumbered within a budget. Pure.
 */
import type { BenchmarkEntry } from "../api/evaluation";

export interface BudgetSection {
  budget: number | null;
  entries: (BenchmarkEntry & { budgetRank: number })[];
}

/** Sections by budget, ascending (unknown budget last); entries keep the API's order (best first). */
export function budgetSections(entries: readonly BenchmarkEntry[]): BudgetSection[] {
  const byBudget = new Map<number | null, BenchmarkEntry[]>();
  for (const e of entries) {
    const key = e.total_timesteps ?? null;
    byBudget.set(key, [...(byBudget.get(key) ?? []), e]);
  }
  const keys = [...byBudget.keys()].sort((a, b) => (a === null ? 1 : b === null ? -1 : a - b));
  return keys.map((budget) => ({
    budget,
    entries: [...byBudget.get(budget)!].sort((a, b) => a.rank - b.rank).map((e, i) => ({ ...e, budgetRank: i + 1 })),
  }));
}

/** The configuration keys worth showing beside an agent: the learning setup, not bookkeeping. */
export function configSummary(config: Record<string, unknown>): string {
  const keys = ["opponent", "learning_rate", "n_steps", "batch_size", "n_epochs", "mode"];
  return keys
    .filter((k) => config[k] !== undefined && config[k] !== null)
    .map((k) => `${k}=${String(config[k])}`)
    .join(" · ");
}
