/**
 * Query options and hooks for what the trainer learned: per-rollout diagnostics, evaluation games
 * (with boards), cross-run benchmarks and the Elo ladders, on the generated client (`client.ts`).
 *
 * Types are the generated schema's, derived through each endpoint's response (as in `types.ts`), so
 * they follow the API's answers rather than the names of its helper models.
 */
import { queryOptions, useQuery } from "@tanstack/react-query";
import { api, unwrap, type GetPath } from "./client";
import type { paths } from "./schema.gen";
import type { RunEvaluation } from "./types";

/** The JSON body a GET path answers with 200, from the generated schema. */
type Ok<P extends GetPath> = paths[P]["get"] extends {
  responses: { 200: { content: { "application/json": infer T } } };
}
  ? T
  : never;

export type RolloutList = Ok<"/api/training-runs/{run_id}/rollouts">;
export type Rollout = NonNullable<RolloutList["rollouts"]>[number];
export type Evaluation = RunEvaluation;
export type OpponentResult = NonNullable<Evaluation["results"]>[number];
export type GameDetail = Ok<"/api/training-runs/{run_id}/games/{n}">;
export type Benchmark = Ok<"/api/benchmarks">;
export type BenchmarkEntry = NonNullable<NonNullable<Benchmark["rankings"]>[number]["entries"]>[number];
export type Ladder = Ok<"/api/ladders">[number];
export type LadderPlayer = NonNullable<Ladder["players"]>[number];
export type Pairing = NonNullable<Ladder["pairings"]>[number];

/** Rollouts requested for the diagnostics charts (the API caps a page at 10,000). */
export const ROLLOUT_LIMIT = 10_000;

export const evaluationKeys = {
  rollouts: (runId: string) => ["training-runs", "rollouts", runId] as const,
  game: (runId: string, n: number) => ["training-runs", "game", runId, n] as const,
  benchmarks: (env: string) => ["benchmarks", env] as const,
  ladders: () => ["ladders"] as const,
};

const runPath = (runId: string) => ({ path: { run_id: runId } });

export function rolloutsOptions(runId: string) {
  return queryOptions({
    queryKey: evaluationKeys.rollouts(runId),
    queryFn: async ({ signal }) =>
      (
        await unwrap(
          api.GET("/api/training-runs/{run_id}/rollouts", {
            params: { ...runPath(runId), query: { limit: ROLLOUT_LIMIT } },
            signal,
          }),
          signal,
        )
      ).data,
  });
}

/** A run's rollouts; refreshed every few seconds while the run is running. */
export function useRollouts(runId: string, running: boolean) {
  return useQuery({ ...rolloutsOptions(runId), refetchInterval: running ? 5000 : false });
}

export function gameOptions(runId: string, n: number) {
  return queryOptions({
    queryKey: evaluationKeys.game(runId, n),
    queryFn: async ({ signal }) =>
      (
        await unwrap(
          api.GET("/api/training-runs/{run_id}/games/{n}", { params: { path: { run_id: runId, n } }, signal }),
          signal,
        )
      ).data,
    staleTime: Infinity, // a stored game never changes
  });
}

export function useGame(runId: string, n: number) {
  return useQuery({ ...gameOptions(runId, n), enabled: Number.isInteger(n) && n >= 1 });
}

export function benchmarksOptions(env: string) {
  return queryOptions({
    queryKey: evaluationKeys.benchmarks(env),
    queryFn: async ({ signal }) =>
      (await unwrap(api.GET("/api/benchmarks", { params: { query: { env } }, signal }), signal)).data,
    staleTime: 30_000,
  });
}

export function useBenchmarks(env: string) {
  return useQuery(benchmarksOptions(env));
}

export function laddersOptions() {
  return queryOptions({
    queryKey: evaluationKeys.ladders(),
    queryFn: async ({ signal }) => (await unwrap(api.GET("/api/ladders", { signal }), signal)).data,
    staleTime: 30_000,
  });
}

export function useLadders() {
  return useQuery(laddersOptions());
}
