#!/usr/bin/env node
/**
 * Browser check of declared metrics: a run that logged a custom metric through trainyard_client and
 * the CartPole DQN example's run (epsilon) each show a chart per metric on the run page, with the
 * metric's unit and description, and Compare offers the custom metric too (pytest:
 * tests/web/test_custom_metric_chart.py logs the runs, starts the API, writes the fixture, runs this).
 *
 * The custom run also logged a custom per-rollout metric: Training diagnostics draws it, titled, with its
 * unit and description, one point per rollout.
 *
 * Fixture (TRAINYARD_E2E_FIXTURE): {custom: {run_id, metric, unit, description, episodes,
 * rollout_metric: {name, unit, title, description, rollouts}}, cartpole: {run_id, episodes}}. Screenshots: custom-metric.png, custom-rollout-metric.png,
 * cartpole-epsilon.png.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { BASE_URL, CHROMIUM, CHROME_ARGS, OUT_DIR, WAIT_MS, expectChart } from "./lib.mjs";

const fixture = JSON.parse(readFileSync(process.env.TRAINYARD_E2E_FIXTURE ?? "", "utf8"));
const runUrl = (id) => `${BASE_URL}/training/${encodeURIComponent(id)}`;

/** The chart of `metric` on the open page: drawn, one point per episode, titled with unit and description. */
async function expectMetricChart(page, metric, { unit, description, points }) {
  const chart = await expectChart(page, `chart-${metric}`, { series: 2, minPoints: points });
  assert.equal(chart.points, points, `chart-${metric}: one point per episode`);
  const card = page.locator(`section.chart-card:has([data-testid="chart-${metric}"])`);
  if (unit)
    assert.equal(await card.locator(`[data-testid="chart-${metric}-unit"]`).innerText(), unit, `${metric} unit`);
  else assert.equal(await card.locator(`[data-testid="chart-${metric}-unit"]`).count(), 0, `${metric} has no unit`);
  if (description) assert.ok((await card.innerText()).includes(description), `${metric} chart shows its description`);
  return card;
}

async function main() {
  mkdirSync(OUT_DIR, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROME_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, deviceScaleFactor: 1 });
    const { custom, cartpole } = fixture;

    // The custom metric: its own chart with the declared unit and description, next to the built-in ones.
    await page.goto(runUrl(custom.run_id));
    await expectChart(page, "chart-total_reward", { series: 2, minPoints: custom.episodes });
    const card = await expectMetricChart(page, custom.metric, {
      unit: custom.unit,
      description: custom.description,
      points: custom.episodes,
    });
    const shown = (await page.locator('[data-testid="run-charts"]').getAttribute("data-metrics")).split(",");
    assert.deepEqual(shown, ["total_reward", "steps", "win_rate", custom.metric], "charts shown, in declaration order");
    // The page from its header to the last chart; the cursor on the custom chart shows its legend values.
    await page.setViewportSize({ width: 1400, height: 1140 });
    await page.evaluate(() => window.scrollTo(0, 0));
    const plot = await card.locator(".u-over").boundingBox();
    await page.mouse.move(plot.x + plot.width * 0.62, plot.y + plot.height / 2);
    await page.screenshot({ path: join(OUT_DIR, "custom-metric.png") });

    // The custom per-rollout metric: a Training diagnostics chart from its declaration, beside the built-in ones.
    const rm = custom.rollout_metric;
    const diag = await expectChart(page, `diag-${rm.name}`, { series: 2, minPoints: rm.rollouts });
    assert.equal(diag.points, rm.rollouts, `diag-${rm.name}: one point per rollout`);
    await expectChart(page, "diag-entropy", { series: 2, minPoints: rm.rollouts });
    const diagCard = page.locator(`section.chart-card:has([data-testid="diag-${rm.name}"])`);
    assert.equal(await diagCard.locator(`[data-testid="diag-${rm.name}-unit"]`).innerText(), rm.unit, "rollout unit");
    const diagText = await diagCard.innerText();
    assert.ok(diagText.includes(rm.title) && diagText.includes(rm.description), "rollout chart title and description");
    await page.locator('[data-testid="diagnostics"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(OUT_DIR, "custom-rollout-metric.png") });

    // The CartPole DQN example: an epsilon chart (its schedule, unsmoothed) and no win rate (no games).
    await page.goto(runUrl(cartpole.run_id));
    await expectMetricChart(page, "epsilon", { unit: "", description: "exploration rate", points: cartpole.episodes });
    assert.equal(await page.locator('[data-testid="chart-win_rate"]').count(), 0, "no win rate chart without games");
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(OUT_DIR, "cartpole-epsilon.png") });

    // Compare offers every run's metrics: the custom one (one line) and epsilon (the other run's).
    await page.goto(`${BASE_URL}/training/compare?runs=${custom.run_id},${cartpole.run_id}`);
    await expectChart(page, "compare-total_reward", { series: 2 });
    await expectChart(page, `compare-${custom.metric}`, { series: 1 });
    await expectChart(page, "compare-epsilon", { series: 1 });
    const unit = page.locator(`[data-testid="compare-${custom.metric}-unit"]`);
    await unit.waitFor({ timeout: WAIT_MS });
    assert.equal(await unit.innerText(), custom.unit, "compare chart shows the unit");
  } finally {
    await browser.close();
  }
  console.log("metrics: ok");
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
