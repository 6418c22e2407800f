#!/usr/bin/env node
/**
 * Browser end-to-end checks of the web UI against a running API that serves the production build
 * (pytest starts FerretDB + the API, seeds runs through the real logger, then runs this script).
 *
 *   node e2e/run.mjs            all scenarios; exit code 0 when every one passed
 *   node e2e/run.mjs outage     database-outage scenario, coordinated with pytest over stdout:
 *                               prints READY after the list first loaded (pytest then stops the
 *                               database), BANNER once the "database is unreachable" banner shows
 *                               (pytest then restarts it), RECOVERED once rows are back with the
 *                               URL filters kept.
 *   node e2e/run.mjs list detail   only the named scenarios
 *
 * Environment:
 *   TRAINYARD_E2E_BASE_URL        e.g. http://127.0.0.1:8123 (required)
 *   TRAINYARD_E2E_FIXTURE         JSON file describing the seeded runs (required, see below)
 *   TRAINYARD_E2E_SCREENSHOT_DIR  where list.png, detail.png, compare.png, export.csv go
 *                                 (default ./e2e-artifacts)
 *   TRAINYARD_E2E_CHROMIUM        browser executable (default /usr/bin/chromium)
 *   TRAINYARD_E2E_LIVE_TIMEOUT_S  how long to wait for the running run to grow (default 30)
 *
 * Fixture: { runs: [{run_id, agent_id, status, episodes, has_win_rate?}], running_run_id,
 *            failed_run_id, compare_run_ids: [a, b] }. `has_win_rate: false` marks runs whose
 * episodes carry no win/loss outcome (their win-rate chart is expected to be empty).
 * export.csv is the "Download CSV" export of compare_run_ids[0].
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import {
  BASE_URL,
  OUT_DIR,
  CHROMIUM,
  LIVE_TIMEOUT_MS,
  WAIT_MS,
  CHROME_ARGS,
  loadFixture,
  runOf,
  until,
  rowIds,
  expectRows,
  rowText,
  toInt,
  expectChart,
  waitForList,
  openList,
  screenshot,
} from "./lib.mjs";
// ---- Scenarios ----------------------------------------------------------------------------------

const scenarios = {
  async home(page) {
    await page.goto(`${BASE_URL}/`);
    await page.getByRole("heading", { name: "Training & Evaluation" }).waitFor();
    await page.getByRole("link", { name: /View Training History/ }).click();
    await page.waitForURL(/\/training$/);
    await waitForList(page);
  },

  async list(page, fixture) {
    await openList(page);
    const expected = fixture.runs.map((r) => r.run_id);
    if (expected.length <= 50) {
      const ids = await until(async () => {
        const shown = await rowIds(page);
        return expected.every((id) => shown.includes(id)) && shown;
      });
      assert.ok(ids, `list: not every seeded run is shown (${JSON.stringify(await rowIds(page))})`);
    }
    for (const run of fixture.runs.filter((r) => r.status !== "running" && expected.length <= 50)) {
      const row = page.locator(`[data-testid="run-row"][data-run-id="${run.run_id}"]`);
      assert.equal(await row.getAttribute("data-status"), run.status, `list: status of ${run.run_id}`);
      assert.equal(toInt(await rowText(page, run.run_id, "episodes")), run.episodes, `list: episodes of ${run.run_id}`);
    }
    if (fixture.running_run_id && expected.length <= 50) {
      const duration = await rowText(page, fixture.running_run_id, "duration");
      if ((await page.locator(`[data-run-id="${fixture.running_run_id}"]`).getAttribute("data-status")) === "running") {
        assert.match(duration, /Running\.\.\./, "list: a running run's duration reads Running...");
      }
    }
    await screenshot(page, "list.png");
  },

  async live(page, fixture) {
    const runId = fixture.running_run_id;
    if (!runId) return "skipped: no running_run_id";
    await page.goto(`${BASE_URL}/training/${encodeURIComponent(runId)}`);
    const stat = page.locator('[data-testid="stat-episodes"]');
    await stat.waitFor({ timeout: WAIT_MS });
    const status = await page.locator(".run-title [data-status]").getAttribute("data-status");
    assert.equal(status, "running", `running_run_id ${runId} must still be running during the suite`);
    await page.evaluate(() => {
      window.__e2eNoReload = true;
    });
    const first = toInt(await stat.innerText());
    const grown = await until(async () => toInt(await stat.innerText()) > first, {
      timeout: LIVE_TIMEOUT_MS,
      interval: 500,
    });
    assert.ok(grown, `detail: episode count of running run stayed at ${first} for ${LIVE_TIMEOUT_MS / 1000}s`);
    assert.equal(await page.evaluate(() => window.__e2eNoReload), true, "detail updated without a reload");

    // the list refreshes running rows in place too
    await openList(page);
    const row = () => rowText(page, runId, "episodes").then(toInt);
    await page.evaluate(() => {
      window.__e2eNoReload = true;
    });
    const before = await row();
    const rose = await until(async () => (await row()) > before, { timeout: LIVE_TIMEOUT_MS, interval: 500 });
    const rowStatus = await page.locator(`[data-testid="run-row"][data-run-id="${runId}"]`).getAttribute("data-status");
    assert.ok(rose || rowStatus !== "running", `list: episodes of the running run stayed at ${before}`);
    assert.equal(await page.evaluate(() => window.__e2eNoReload), true, "list updated without a reload");
  },

  async filters(page, fixture) {
    await openList(page);
    // the agent with the most runs, and a settled status among its runs
    const byAgent = new Map();
    for (const r of fixture.runs) byAgent.set(r.agent_id, [...(byAgent.get(r.agent_id) ?? []), r]);
    const [agent, agentRuns] = [...byAgent].sort((a, b) => b[1].length - a[1].length)[0];
    await page.selectOption('[data-testid="filter-agent"]', agent);
    await page.waitForURL((url) => url.searchParams.get("agent") === agent);
    await expectRows(
      page,
      agentRuns.map((r) => r.run_id),
      `agent=${agent}`,
    );

    const settled = agentRuns.filter((r) => r.status !== "running");
    const status = settled.some((r) => r.status === "completed") ? "completed" : (settled[0]?.status ?? "failed");
    await page.selectOption('[data-testid="filter-status"]', status);
    await page.waitForURL(
      (url) => url.searchParams.get("status") === status && url.searchParams.get("agent") === agent,
    );
    const both = agentRuns.filter((r) => r.status === status).map((r) => r.run_id);
    // the running run may finish (and so match a settled status) while the suite runs
    const maybe = fixture.running_run_id ? [fixture.running_run_id] : [];
    await expectRows(page, both, `agent=${agent}&status=${status}`, maybe);

    // filters live in the URL: a reload keeps them
    await page.reload();
    await waitForList(page);
    assert.equal(await page.inputValue('[data-testid="filter-agent"]'), agent, "agent filter survives reload");
    assert.equal(await page.inputValue('[data-testid="filter-status"]'), status, "status filter survives reload");
    await expectRows(page, both, "after reload", maybe);

    // text search on run ID (case-insensitive substring of run ID or agent)
    await page.getByRole("button", { name: "Clear filters" }).first().click();
    const target = fixture.runs[fixture.runs.length - 1].run_id;
    const q = target.slice(-6).toUpperCase();
    await page.fill('[data-testid="filter-q"]', q);
    await page.waitForURL((url) => url.searchParams.get("q") === q);
    const matching = fixture.runs
      .filter(
        (r) => r.run_id.toLowerCase().includes(q.toLowerCase()) || r.agent_id.toLowerCase().includes(q.toLowerCase()),
      )
      .map((r) => r.run_id);
    await expectRows(page, matching, `q=${q}`);
    await page.fill('[data-testid="filter-q"]', "");
    await page.waitForURL((url) => !url.searchParams.has("q"));

    // sorting by clicking a header: episodes, descending
    await page.getByRole("button", { name: /^Episodes/ }).click();
    await page.waitForURL((url) => url.searchParams.get("sort") === "-episodes");
    const sorted = await until(async () => {
      const counts = (
        await page.$$eval('[data-testid="run-row"] [data-testid="episodes"]', (c) => c.map((e) => e.textContent ?? ""))
      ).map((t) => Number.parseInt(t.replace(/[^\d]/g, ""), 10));
      return counts.length > 1 && counts.every((c, i) => i === 0 || counts[i - 1] >= c) && counts;
    });
    assert.ok(sorted, "rows are sorted by episodes, descending");
  },

  async detail(page, fixture) {
    const runId = fixture.compare_run_ids[0];
    const run = runOf(fixture, runId);
    await openList(page);
    await page.locator(`[data-testid="run-row"][data-run-id="${runId}"] [data-testid="view-details"]`).click();
    await page.waitForURL(`${BASE_URL}/training/${encodeURIComponent(runId)}`);
    const reward = await expectChart(page, "chart-total_reward", { series: [2, 4], minPoints: 1 });
    if (run.episodes <= 5000) assert.equal(reward.points, run.episodes, "reward chart: one point per episode");
    if (run.has_win_rate !== false) await expectChart(page, "chart-win_rate", { series: [2, 4] });
    else
      assert.equal(await page.locator('[data-testid="chart-win_rate"]').count(), 0, "no win rate chart without games");
    if (run.status !== "running") {
      assert.equal(
        toInt(await page.locator('[data-testid="stat-episodes"]').innerText()),
        run.episodes,
        "total episodes",
      );
    }
    await page.getByRole("heading", { name: "Configuration" }).waitFor();
    await screenshot(page, "detail.png");

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.locator('[data-testid="download-csv"]').click(),
    ]);
    const file = join(OUT_DIR, "export.csv");
    await download.saveAs(file);
    const lines = readFileSync(file, "utf8").split(/\r?\n/).filter(Boolean);
    assert.match(lines[0], /^episode,total_reward,steps,win,epsilon,timestep,win_rate,time/, "export.csv header");
    if (run.status !== "running") assert.equal(lines.length - 1, run.episodes, "export.csv has one line per episode");
  },

  async link(page, fixture) {
    // Opened from a link (a bookmark, a shared URL): the run's data is requested once, together with the
    // page's lazily loaded code rather than after it has arrived.
    const runId = fixture.compare_run_ids[0];
    const path = `/api/training-runs/${encodeURIComponent(runId)}`;
    const requested = [];
    page.on("request", (request) => {
      if (new URL(request.url()).pathname === path) requested.push(request.url());
    });
    await page.goto(`${BASE_URL}/training/${encodeURIComponent(runId)}`);
    await expectChart(page, "chart-total_reward", { series: [2, 4], minPoints: 1 });
    const timing = await page.evaluate((apiPath) => {
      const entries = performance.getEntriesByType("resource");
      const code = entries.find((e) => /\/assets\/RunDetailPage-[^/]+\.js$/.test(e.name));
      const data = entries.find((e) => new URL(e.name).pathname === apiPath);
      return { codeEnd: code?.responseEnd, dataStart: data?.startTime };
    }, path);
    assert.ok(timing.codeEnd !== undefined && timing.dataStart !== undefined, "the page's code and data were loaded");
    assert.ok(
      timing.dataStart < timing.codeEnd,
      `the run's data was requested at ${Math.round(timing.dataStart)} ms, after the page's code arrived ` +
        `(${Math.round(timing.codeEnd)} ms)`,
    );
    assert.equal(requested.length, 1, `the run's detail was requested ${requested.length} times`);
  },

  async failed(page, fixture) {
    if (!fixture.failed_run_id) return "skipped: no failed_run_id";
    await openList(page);
    // clicking anywhere on the row (not only "View Details") opens the run
    await page.locator(`[data-testid="run-row"][data-run-id="${fixture.failed_run_id}"] td`).nth(3).click();
    await page.waitForURL(`${BASE_URL}/training/${encodeURIComponent(fixture.failed_run_id)}`);
    const panel = page.locator('[data-testid="failure-panel"]');
    await panel.waitFor({ timeout: WAIT_MS });
    assert.match(await panel.innerText(), /This run failed/);
    await screenshot(page, "failed.png");
  },

  async compare(page, fixture) {
    const [a, b] = fixture.compare_run_ids;
    await openList(page);
    for (const id of [a, b])
      await page.locator(`[data-testid="run-row"][data-run-id="${id}"] [data-testid="select-run"]`).check();
    await page.locator('[data-testid="compare-button"]').click();
    await page.waitForURL(
      (url) => url.pathname === "/training/compare" && url.searchParams.get("runs") === `${a},${b}`,
    );
    await expectChart(page, "compare-total_reward", { series: 2 });
    const withWins = [a, b].every((id) => runOf(fixture, id).has_win_rate !== false);
    if (withWins) await expectChart(page, "compare-win_rate", { series: 2 });
    const legend = await page.locator('[data-testid="compare-legend"]').innerText();
    for (const id of [a, b]) assert.ok(legend.includes(id.slice(0, 12)), `legend names ${id}`);
    const diffRows = await until(() => page.locator('[data-testid="config-diff-row"]').count());
    assert.ok(diffRows >= 1, "the configuration differences table has a row");
    await screenshot(page, "compare.png");

    await page.locator('[data-testid="axis-timestep"]').click();
    await page.waitForURL((url) => url.searchParams.get("x") === "timestep");
    await expectChart(page, "compare-total_reward", { series: 2 });
  },

  async notFound(page) {
    await page.goto(`${BASE_URL}/training/no-such-run-${Date.now()}`);
    await page.getByRole("heading", { name: "Run not found" }).waitFor({ timeout: WAIT_MS });
  },

  async listCsv(page, fixture) {
    await openList(page);
    const shown = await rowIds(page);
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.locator('[data-testid="export-list-csv"]').click(),
    ]);
    const file = join(OUT_DIR, "list.csv");
    await download.saveAs(file);
    const lines = readFileSync(file, "utf8").split(/\r\n/).filter(Boolean);
    assert.equal(lines[0], "Run ID,Agent / Algorithm,Start Time,Duration,Episodes,Final Metric,Status");
    assert.equal(lines.length - 1, shown.length, "list.csv has the shown rows");
    assert.ok(lines[1].startsWith(shown[0]), "list.csv rows are in the shown order");
    void fixture;
  },
};

// ---- Outage mode --------------------------------------------------------------------------------

async function outage(page, fixture) {
  const agent = fixture?.runs[0]?.agent_id;
  const search = new URLSearchParams({ sort: "run_id", ...(agent ? { agent } : {}) });
  await openList(page, `?${search}`);
  const before = await rowIds(page);
  assert.ok(before.length > 0, "outage: the list shows runs before the outage");
  console.log("READY");

  const banner = page.locator('[data-testid="api-banner"]', { hasText: /database is unreachable/i });
  await banner.waitFor({ timeout: 30_000 });
  console.log("BANNER");
  assert.equal(new URL(page.url()).search, `?${search}`, "outage: filters kept while the database is down");

  await banner.waitFor({ state: "detached", timeout: 60_000 });
  await waitForList(page);
  const after = await rowIds(page);
  assert.ok(after.length > 0, "outage: rows are back");
  assert.equal(new URL(page.url()).search, `?${search}`, "outage: filters kept after recovery");
  if (agent)
    assert.equal(await page.inputValue('[data-testid="filter-agent"]'), agent, "outage: agent filter still selected");
  console.log("RECOVERED");
}

// ---- Runner ------------------------------------------------------------------------------------

async function main() {
  assert.ok(BASE_URL, "set TRAINYARD_E2E_BASE_URL");
  mkdirSync(OUT_DIR, { recursive: true });
  const argv = process.argv.slice(2);
  const mode = argv[0] === "outage" ? "outage" : "all";
  const fixture = loadFixture();
  if (mode === "all") assert.ok(fixture, "set TRAINYARD_E2E_FIXTURE");

  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROME_ARGS });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  context.setDefaultTimeout(WAIT_MS);
  let failures = 0;
  try {
    const names = mode === "outage" ? ["outage"] : argv.length ? argv : Object.keys(scenarios);
    for (const name of names) {
      const scenario = mode === "outage" ? outage : scenarios[name];
      assert.ok(scenario, `unknown scenario ${name}; known: ${Object.keys(scenarios).join(", ")}, outage`);
      const page = await context.newPage();
      const pageErrors = [];
      page.on("pageerror", (error) => pageErrors.push(error.message));
      const started = Date.now();
      try {
        const note = await scenario(page, fixture);
        assert.deepEqual(pageErrors, [], "uncaught errors in the page");
        console.log(`ok - ${name} (${Date.now() - started} ms)${note ? ` # ${note}` : ""}`);
      } catch (error) {
        failures += 1;
        console.log(`not ok - ${name}: ${error instanceof Error ? error.message : error}`);
        if (error instanceof Error && error.stack) console.error(error.stack);
        await page.screenshot({ path: join(OUT_DIR, `failure-${name}.png`), fullPage: true }).catch(() => {});
      } finally {
        await page.close();
      }
    }
  } finally {
    await browser.close();
  }
  console.log(failures ? `# ${failures} scenario(s) failed` : "# all scenarios passed");
  process.exitCode = failures ? 1 : 0;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 2;
});
