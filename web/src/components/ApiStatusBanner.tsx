/**
 * Banner for transient API failures while TanStack Query keeps retrying: the database is down
 * (HTTP 503) or the API itself cannot be reached. Shows nothing for other errors.
 */
import { ApiError } from "../api/client";

export function transientMessage(error: unknown): string | null {
  if (!(error instanceof ApiError)) return null;
  if (error.isUnavailable) return "The database is unreachable — retrying…";
  if (error.isUnreachable) return "The API is unreachable — retrying…";
  return null;
}

export function ApiStatusBanner({ errors }: { errors: readonly unknown[] }) {
  const message = errors.map(transientMessage).find(Boolean);
  if (!message) return null;
  const detail = errors.find((e): e is ApiError => e instanceof ApiError)?.detail;
  return (
    <div className="banner banner--warning" role="alert" data-testid="api-banner">
      <span className="banner__icon" aria-hidden="true">
        ⚠
      </span>
      <span>
        <strong>{message}</strong>
        {detail && <span className="banner__detail"> ({detail})</span>}
      </span>
    </div>
  );
}
