#!/usr/bin/env node
/**
 * First-paint timings for `make bench` (bench/web_bench.py): milliseconds from navigation start to
 * the first chart drawn on a run's detail page, and to the first row of the run list.
 *
 *   TRAINYARD_E2E_BASE_URL=http://127.0.0.1:8123 node e2e/paint.mjs RUN_ID [ROUNDS]
 * Prints one JSON line: {"detail_ms": [...], "list_ms": [...], "detail_data_ms": [...], "list_data_ms": [...]}
 * (``*_data_ms``: when the last API response the page had before that paint ended).
 */
import { chromium } from "playwright-core";
import { BASE_URL, CHROMIUM, CHROME_ARGS } from "./lib.mjs";

const [runId, rounds = "5"] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROME_ARGS });
const out = { detail_ms: [], list_ms: [], detail_data_ms: [], list_data_ms: [] };
try {
  for (let i = 0; i < Number(rounds); i++) {
    for (const [key, path, selector] of [
      ["detail_ms", `/training/${runId}`, ".uplot canvas"],
      ["list_ms", "/training", '[data-testid="run-row"]'],
    ]) {
      const context = await browser.newContext(); // a cold cache each time
      const page = await context.newPage();
      await page.goto(`${BASE_URL}${path}`, { waitUntil: "commit" });
      await page.waitForSelector(selector, { timeout: 120_000 });
      // one frame later the first paint of what the selector found has happened
      const ms = await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r(performance.now()))));
      out[key].push(Math.round(ms));
      // when the page's data had arrived: the last API response that ended before the paint
      const data = await page.evaluate(
        (paint) =>
          Math.max(
            0,
            ...performance
              .getEntriesByType("resource")
              .filter((e) => e.name.includes("/api/") && e.responseEnd <= paint)
              .map((e) => e.responseEnd),
          ),
        ms,
      );
      out[`${key.replace("_ms", "")}_data_ms`].push(Math.round(data));
      await context.close();
    }
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
