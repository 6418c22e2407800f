/**
 * The only module that talks HTTP: a client generated from the API's OpenAPI document
 * (openapi-fetch over `schema.gen.ts`), so every path, path parameter and query name is checked by
 * the compiler against the API; non-2xx answers become `ApiError`. Query options in `runs.ts` call
 * it; components never build URLs themselves. URLs are relative, so one origin serves UI and API.
 */
import createClient, { createFinalURL, createQuerySerializer, defaultPathSerializer } from "openapi-fetch";
import type { paths } from "./schema.gen";

/** An HTTP error answered by the API, or a network failure (`status` 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly detail: string;

  constructor(status: number, detail: string) {
    super(status === 0 ? `Network error: ${detail}` : `HTTP ${status}: ${detail}`);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
  }

  /** The database behind the API is down (the API answers 503). */
  get isUnavailable(): boolean {
    return this.status === 503;
  }

  /** The API itself could not be reached (network error, proxy 502/504). */
  get isUnreachable(): boolean {
    return this.status === 0 || this.status === 502 || this.status === 504;
  }

  get isNotFound(): boolean {
    return this.status === 404;
  }

  /** Worth retrying: the condition is expected to clear on its own. */
  get isTransient(): boolean {
    return this.isUnavailable || this.isUnreachable;
  }
}

/** The typed client: `api.GET("/api/training-runs/{run_id}", { params: { path: { run_id } } })`. */
export const api = createClient<paths>({ baseUrl: "", headers: { Accept: "application/json" } });

/** Paths the API answers to GET. */
export type GetPath = { [P in keyof paths]: paths[P] extends { get: object } ? P : never }[keyof paths];
type GetParameters<P extends GetPath> = paths[P]["get"] extends { parameters: infer X } ? X : never;
/** The path and query parameters of a GET path, as the OpenAPI document declares them. */
export type GetParams<P extends GetPath> = {
  path?: GetParameters<P> extends { path?: infer X } ? X : never;
  query?: GetParameters<P> extends { query?: infer X } ? X : never;
};

const querySerializer = createQuerySerializer();

/**
 * The relative URL of a GET path, for what is not fetched with `api` (download links, `EventSource`);
 * parameters are typed from the generated schema like the client's.
 */
export function apiUrl<P extends GetPath>(path: P, params: GetParams<P> = {}): string {
  return createFinalURL(path, {
    baseUrl: "",
    params: params as { path?: Record<string, unknown>; query?: Record<string, unknown> },
    querySerializer,
    pathSerializer: defaultPathSerializer,
  });
}

function errorDetail(error: unknown, response: Response): string {
  if (error && typeof error === "object" && "detail" in error) {
    const detail = (error as { detail: unknown }).detail;
    return typeof detail === "string" ? detail : JSON.stringify(detail);
  }
  if (typeof error === "string" && error) return error;
  return response.statusText || "request failed";
}

export interface ApiResponse<T> {
  data: T;
  headers: Headers;
}

/**
 * Awaits a call of `api` (pass the request's `signal` too): the body of a 2xx answer, else an
 * `ApiError`; an aborted request rethrows the abort.
 */
export async function unwrap<T>(
  request: Promise<{ data?: T; error?: unknown; response: Response }>,
  signal?: AbortSignal,
): Promise<ApiResponse<T>> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await request;
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(0, error instanceof Error ? error.message : String(error));
  }
  const { data, error, response } = result;
  if (!response.ok || data === undefined) throw new ApiError(response.status, errorDetail(error, response));
  return { data, headers: response.headers };
}

/** Retry policy for TanStack Query: keep retrying while the API or its database is down. */
export function shouldRetry(failureCount: number, error: unknown): boolean {
  if (error instanceof ApiError) return error.isTransient;
  return failureCount < 2;
}

export function retryDelay(attempt: number): number {
  return Math.min(1000 * 2 ** attempt, 4000);
}
