/** Unknown paths, and runs the API does not know (`title` = "Run not found"). */
import { Link } from "react-router";

export function NotFoundPage({ title = "Page not found", detail }: { title?: string; detail?: string }) {
  return (
    <div className="state-page" data-testid="not-found">
      <h1>{title}</h1>
      {detail && <p className="muted">{detail}</p>}
      <Link to="/training" className="button">
        ← Back to Training History
      </Link>
    </div>
  );
}
