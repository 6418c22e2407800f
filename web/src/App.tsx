/** Layout (dark header, main area) and routes; the chart pages are loaded lazily. */
import { lazy, Suspense } from "react";
import { NavLink, Route, Routes } from "react-router";
import { SkeletonBlock } from "./components/Skeleton";
import { HomePage } from "./pages/HomePage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { RunListPage } from "./pages/RunListPage";

// The chart pages carry uPlot: load them on first use so the list opens quickly.
const RunDetailPage = lazy(() => import("./pages/RunDetailPage").then((m) => ({ default: m.RunDetailPage })));
const GameReplayPage = lazy(() => import("./pages/GameReplayPage").then((m) => ({ default: m.GameReplayPage })));
const BenchmarksPage = lazy(() => import("./pages/BenchmarksPage").then((m) => ({ default: m.BenchmarksPage })));
const LadderPage = lazy(() => import("./pages/LadderPage").then((m) => ({ default: m.LadderPage })));
const ComparePage = lazy(() => import("./pages/ComparePage").then((m) => ({ default: m.ComparePage })));

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
            <Route path="/training/:runId" element={<RunDetailPage />} />
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
