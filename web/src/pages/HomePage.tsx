/** `/`: the Training & Evaluation landing page, leading to the training history. */
import { Link } from "react-router";

export function HomePage() {
  return (
    <div className="home">
      <title>Training &amp; Evaluation · Trainyard</title>
      <section className="hero">
        <h1>Training &amp; Evaluation</h1>
        <p className="hero__lead">
          Every training run is logged as it happens: per-episode rewards, rolling win rates, configuration, checkpoints
          and, when something goes wrong, why it failed.
        </p>
        <Link to="/training" className="button button--primary button--large" data-testid="view-history">
          View Training History →
        </Link>
      </section>
      <section className="home__grid">
        <div className="card">
          <h2>Browse and filter</h2>
          <p>Filter runs by agent, status, algorithm and start date; sort by any column; share the URL.</p>
        </div>
        <div className="card">
          <h2>Follow live runs</h2>
          <p>Running runs update in place: new episodes stream into the charts as the trainer logs them.</p>
        </div>
        <div className="card">
          <h2>Compare</h2>
          <p>Overlay the reward and win-rate curves of up to eight runs and see which settings differ.</p>
        </div>
        <div className="card">
          <h2>Start a run</h2>
          <p>
            <code>make dev</code> or <code>kubectl apply -f examples/trainingrun-smoke.yaml</code>
          </p>
        </div>
      </section>
    </div>
  );
}
