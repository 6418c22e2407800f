/** Layout (dark header, main area) and routes; the chart pages are loaded lazily. */
import type { QueryClient } from "@tanstack/react-query";
import { type ComponentType, lazy, Suspense } from "react";
import { matchPath, NavLink, Route, Routes } from "react-router";
import { runDetailOptions } from "./api/runs";
import { SkeletonBlock } from "./components/Skeleton";
import { HomePage } from "./pages/HomePage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { RunListPage } from "./pages/RunListPage";

/**
 * A page whose code loads on first use, or earlier through ``preload``. Once the code is there the page
 * renders without suspending: React keeps a fallback it has shown for at least 300 ms, a wait that a
 * page preloaded at startup need not pay.
 */
function lazyPage<M>(load: () => Promise<M>, pick: (module: M) => ComponentType) {
  let loaded: ComponentType | undefined;
  const preload = () =>
    load().then((module) => {
      loaded = pick(module);
      return loaded;
    });
  const Suspending = lazy(() => preload().then((component) => ({ default: component })));
  function Page() {
    const Loaded = loaded;
    return Loaded ? <Loaded /> : <Suspending />;
  }
  return { Page, preload };
}

// The chart pages carry uPlot: load them on first use so the list opens quickly.
const RUN_PAGE = "/training/:runId"; // the route, and what preloadRoute recognises
const { Page: RunDetailPage, preload: loadRunDetailPage } = lazyPage(
  () => import("./pages/RunDetailPage"),
  (m) => m.RunDetailPage,
);
const GameReplayPage = lazy(() => import("./pages/GameReplayPage").then((m) => ({ default: m.GameReplayPage })));
const BenchmarksPage = lazy(() => import("./pages/BenchmarksPage").then((m) => ({ default: m.BenchmarksPage })));
const LadderPage = lazy(() => import("./pages/LadderPage").then((m) => ({ default: m.LadderPage })));
const ComparePage = lazy(() => import("./pages/ComparePage").then((m) => ({ default: m.ComparePage })));

/**
 * Opened straight onto a run's page, the page's code and the run's data are requested together at
 * startup: otherwise the query starts only once the lazy chunk has loaded and rendered, one wait after
 * the other (about half of the first chart's time for a 1,000,000-episode run in `make bench`).
 * Returns when the page's code is there (the first render waits for it: no fallback, no hold), or null
 * when the path needs nothing early.
 */
export function preloadRoute(client: QueryClient, pathname: string): Promise<unknown> | null {
  const runId = matchPath(RUN_PAGE, pathname)?.params.runId;
  if (!runId || runId === "compare") return null;
  void client.prefetchQuery(runDetailOptions(runId));
  return loadRunDetailPage();
}

export function App() {
  return (
    <div className="app">
      <header className="topbar">
        <NavLink to="/" className="topbar__brand" end>
          <span className="topbar__logo" aria-hidden="true">
            ▤
          </span>
          Trainyard
        </NavLink>
        <nav className="topbar__nav" aria-label="Main">
          <NavLink to="/" end>
            Training &amp; Evaluation
          </NavLink>
          <NavLink to="/training">Training History</NavLink>
          <NavLink to="/benchmarks">Benchmarks</NavLink>
          <NavLink to="/ladder">Elo ladder</NavLink>
        </nav>
      </header>
      <main className="main">
        <Suspense fallback={<SkeletonBlock height={320} />}>
          <Routes>
            <Route path="/" element={<HomePage />} />
            <Route path="/training" element={<RunListPage />} />
            <Route path="/training/compare" element={<ComparePage />} />
            <Route path={RUN_PAGE} element={<RunDetailPage />} />
            <Route path="/training/:runId/games/:n/:move?" element={<GameReplayPage />} />
            <Route path="/benchmarks" element={<BenchmarksPage />} />
            <Route path="/ladder" element={<LadderPage />} />
            <Route path="*" element={<NotFoundPage />} />
          </Routes>
        </Suspense>
      </main>
    </div>
  );
}
