/**
 * The only module that talks HTTP: builds relative `/api/...` URLs and turns non-2xx answers into
 * `ApiError`. Query options in `runs.ts` call it; components never build URLs themselves.
 */

export const API_BASE = "/api";

export type QueryValue = string | number | boolean | null | undefined;

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

/** `/api/<path>?<params>` with empty values left out. */
export function apiUrl(path: string, params?: Record<string, QueryValue>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params ?? {})) {
    if (value === undefined || value === null || value === "") continue;
    search.set(key, String(value));
  }
  const query = search.toString();
  return `${API_BASE}${path}${query ? `?${query}` : ""}`;
}

async function errorDetail(response: Response): Promise<string> {
  try {
    const body: unknown = await response.json();
    if (body && typeof body === "object" && "detail" in body) {
      const detail = (body as { detail: unknown }).detail;
      if (typeof detail === "string") return detail;
      return JSON.stringify(detail);
    }
  } catch {
    // not JSON: fall through to the status text
  }
  return response.statusText || "request failed";
}

export interface ApiResponse<T> {
  data: T;
  headers: Headers;
}

export async function apiGet<T>(
  path: string,
  params?: Record<string, QueryValue>,
  signal?: AbortSignal,
): Promise<ApiResponse<T>> {
  let response: Response;
  try {
    response = await fetch(apiUrl(path, params), { signal, headers: { Accept: "application/json" } });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(0, error instanceof Error ? error.message : String(error));
  }
  if (!response.ok) throw new ApiError(response.status, await errorDetail(response));
  return { data: (await response.json()) as T, headers: response.headers };
}

/** Retry policy for TanStack Query: keep retrying while the API or its database is down. */
export function shouldRetry(failureCount: number, error: unknown): boolean {
  if (error instanceof ApiError) return error.isTransient;
  return failureCount < 2;
}

export function retryDelay(attempt: number): number {
  return Math.min(1000 * 2 ** attempt, 4000);
}
