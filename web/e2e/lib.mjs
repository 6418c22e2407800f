/**
 * Settings and page helpers for the browser end-to-end checks (`run.mjs`): waiting for rows and
 * charts, reading cells, checking that a uPlot canvas shows series.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const BASE_URL = (process.env.TRAINYARD_E2E_BASE_URL ?? "").replace(/\/$/, "");
export const OUT_DIR = resolve(process.env.TRAINYARD_E2E_SCREENSHOT_DIR ?? "e2e-artifacts");
export const CHROMIUM = process.env.TRAINYARD_E2E_CHROMIUM ?? "/usr/bin/chromium";
export const LIVE_TIMEOUT_MS = Number(process.env.TRAINYARD_E2E_LIVE_TIMEOUT_S ?? 30) * 1000;
export const WAIT_MS = 15_000;
export const CHROME_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

export function loadFixture() {
  const path = process.env.TRAINYARD_E2E_FIXTURE;
  if (!path) return null;
  const fixture = JSON.parse(readFileSync(path, "utf8"));
  assert.ok(Array.isArray(fixture.runs) && fixture.runs.length > 0, "fixture.runs must list the seeded runs");
  return fixture;
}

// ---- Page helpers -------------------------------------------------------------------------------

export const runOf = (fixture, runId) => {
  const run = fixture.runs.find((r) => r.run_id === runId);
  assert.ok(run, `fixture has no run ${runId}`);
  return run;
};

export const sameSet = (a, b) => a.length === b.length && [...a].sort().join("\n") === [...b].sort().join("\n");

/** Poll `fn` until it returns a truthy value or the time is up; returns the last value. */
export async function until(fn, { timeout = WAIT_MS, interval = 200 } = {}) {
  const deadline = Date.now() + timeout;
  let value;
  for (;;) {
    value = await fn();
    if (value || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, interval));
  }
}

export const rowIds = (page) => page.$$eval('[data-testid="run-row"]', (rows) => rows.map((r) => r.dataset.runId));

/** The shown rows become `expected`; IDs in `optional` (a run that may finish meanwhile) may also show. */
export async function expectRows(page, expected, what, optional = []) {
  let ids = [];
  const ok = await until(async () => {
    ids = await rowIds(page);
    return sameSet(
      ids.filter((id) => !optional.includes(id) || expected.includes(id)),
      expected,
    );
  });
  assert.ok(
    ok,
    `${what}: expected rows ${JSON.stringify([...expected].sort())}, got ${JSON.stringify([...ids].sort())}`,
  );
}

export async function rowText(page, runId, testId) {
  return page.locator(`[data-testid="run-row"][data-run-id="${runId}"] [data-testid="${testId}"]`).innerText();
}

export const toInt = (text) => Number.parseInt(text.replace(/[^\d]/g, ""), 10);

/** Coloured (non-grey) pixels on a chart's canvas: the series strokes, not the axes or grid. */
export async function coloredPixels(page, chartTestId) {
  return page.$eval(`[data-testid="${chartTestId}"] canvas`, (canvas) => {
    const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    let colored = 0;
    for (let i = 0; i < data.length; i += 4) {
      const max = Math.max(data[i], data[i + 1], data[i + 2]);
      const min = Math.min(data[i], data[i + 1], data[i + 2]);
      if (data[i + 3] > 0 && max - min > 60) colored += 1;
    }
    return colored;
  });
}

/** Waits until the chart drew, then checks it has `series` data series and visible strokes. */
export async function expectChart(page, testId, { series, minPoints = 1 }) {
  const frame = page.locator(`[data-testid="${testId}"]`);
  await frame.locator('.uplot-host[data-drawn="true"]').waitFor({ timeout: WAIT_MS });
  const expected = Array.isArray(series) ? series : [series];
  // Several runs load independently: wait for the chart to hold all of them.
  let count = 0;
  let points = 0;
  await until(async () => {
    count = Number(await frame.getAttribute("data-series-count"));
    points = Number(await frame.getAttribute("data-points"));
    const drawn = await frame.locator('.uplot-host[data-drawn="true"]').count();
    return drawn > 0 && expected.includes(count) && points >= minPoints;
  });
  assert.ok(expected.includes(count), `${testId}: expected ${expected.join(" or ")} series, got ${count}`);
  assert.ok(points >= minPoints, `${testId}: expected at least ${minPoints} points, got ${points}`);
  const pixels = await until(() => coloredPixels(page, testId).then((n) => (n > 100 ? n : 0)), { timeout: 5000 });
  assert.ok(pixels > 100, `${testId}: the canvas shows no series (coloured pixels: ${pixels})`);
  return { count, points };
}

export async function waitForList(page) {
  await page.locator('[data-testid="run-row"], [data-testid="empty-state"]').first().waitFor({ timeout: WAIT_MS });
}

export async function openList(page, search = "") {
  await page.goto(`${BASE_URL}/training${search}`);
  await waitForList(page);
}

export async function screenshot(page, name) {
  await page.screenshot({ path: join(OUT_DIR, name), fullPage: false });
}
