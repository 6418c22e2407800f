/**
 * `/benchmarks?env=…`: agents ranked by evaluation win rate per opponent, one table per timestep
 * budget (lib/benchmarks). A row is a group of runs that differ only by seed: the mean win rate with
 * its 95% interval (t over seeds, or Wilson with one run), seeds, games, and links to its runs
 * (and to comparing them).
 */
import { Link, useSearchParams } from "react-router";
import { useBenchmarks } from "../api/evaluation";
import { ApiStatusBanner } from "../components/ApiStatusBanner";
import { SkeletonBlock } from "../components/Skeleton";
import { budgetSections, configSummary } from "../lib/benchmarks";
import { formatInteger, formatNumber, formatPercent, shortId } from "../lib/format";

const DEFAULT_ENV = "trainyard/BlokusDuo-v0";

export function BenchmarksPage() {
  const [params, setParams] = useSearchParams();
  const env = params.get("env") || DEFAULT_ENV;
  const bench = useBenchmarks(env);
  return (
    <div className="page">
      <title>Benchmarks · Trainyard</title>
      <div className="page__header">
        <div>
          <h1>Benchmarks</h1>
          <p className="muted">
            Agents ranked by the win rate of their final evaluation, per opponent. Runs that differ only by seed form
            one row (mean and 95% interval over seeds); different timestep budgets are never ranked together.
          </p>
        </div>
        <form
          className="field"
          onSubmit={(e) => {
            e.preventDefault();
            const value = new FormData(e.currentTarget).get("env");
            setParams(value && value !== DEFAULT_ENV ? { env: String(value) } : {});
          }}
        >
          <label htmlFor="bench-env">Environment</label>
          <input id="bench-env" name="env" defaultValue={env} key={env} data-testid="bench-env" />
        </form>
      </div>
      <ApiStatusBanner errors={[bench.failureReason]} />
      {!bench.data ? (
        <SkeletonBlock height={240} />
      ) : bench.data.rankings.length === 0 ? (
        <div className="empty-state" data-testid="bench-empty">
          No evaluated runs of {env} yet. A run that completes plays its evaluation games; those results rank here.
        </div>
      ) : (
        <>
          <p className="muted" data-testid="bench-runs">
            {formatInteger(bench.data.runs)} evaluated runs of <span className="mono">{env}</span>.
          </p>
          {bench.data.rankings.map((ranking) => (
            <section
              key={ranking.opponent}
              className="card section"
              data-testid="bench-opponent"
              data-opponent={ranking.opponent}
            >
              <h2>Against {ranking.opponent}</h2>
              {budgetSections(ranking.entries).map((section) => (
                <div
                  key={String(section.budget)}
                  className="bench-budget"
                  data-testid="bench-budget"
                  data-budget={section.budget ?? ""}
                >
                  <h3>Budget: {section.budget === null ? "unknown" : `${formatInteger(section.budget)} timesteps`}</h3>
                  <div className="table-wrap">
                    <table className="data-table">
                      <thead>
                        <tr>
                          <th scope="col" className="num">
                            Rank
                          </th>
                          <th scope="col">Agent</th>
                          <th scope="col" className="num">
                            Mean win rate
                          </th>
                          <th scope="col">95% interval</th>
                          <th scope="col" className="num">
                            Seeds
                          </th>
                          <th scope="col" className="num">
                            Games
                          </th>
                          <th scope="col" className="num">
                            Score margin
                          </th>
                          <th scope="col">Runs</th>
                        </tr>
                      </thead>
                      <tbody>
                        {section.entries.map((e) => (
                          <tr key={e.group} data-testid="bench-row" data-agent={e.agent_id}>
                            <td className="num">{e.budgetRank}</td>
                            <td>
                              <div className="cell-main">{e.agent_id}</div>
                              <div className="cell-sub">{configSummary(e.config)}</div>
                            </td>
                            <td className="num" data-testid="bench-win-rate">
                              {formatPercent(e.mean_win_rate)}
                            </td>
                            <td>
                              {formatPercent(e.ci.low)}–{formatPercent(e.ci.high)}{" "}
                              <span className="muted">({e.ci_method === "t" ? "t over seeds" : "Wilson"})</span>
                            </td>
                            <td className="num" data-testid="bench-seeds">
                              {e.seeds}
                            </td>
                            <td className="num">{formatInteger(e.games)}</td>
                            <td className="num">{formatNumber(e.mean_score_margin)}</td>
                            <td>
                              {e.run_ids.map((id, i) => (
                                <span key={id}>
                                  {i > 0 && ", "}
                                  <Link
                                    to={`/training/${encodeURIComponent(id)}`}
                                    className="mono"
                                    data-testid="bench-run-link"
                                  >
                                    {shortId(id)}
                                  </Link>
                                </span>
                              ))}
                              {e.run_ids.length > 1 && e.run_ids.length <= 8 && (
                                <>
                                  {" "}
                                  ·{" "}
                                  <Link to={`/training/compare?runs=${e.run_ids.map(encodeURIComponent).join(",")}`}>
                                    compare
                                  </Link>
                                </>
                              )}
                            </td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                </div>
              ))}
            </section>
          ))}
        </>
      )}
    </div>
  );
}
