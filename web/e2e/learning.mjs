#!/usr/bin/env node
/**
 * Browser checks of the learning views against runs the real trainer produced (pytest:
 * tests/web/test_learning_views.py trains them, starts the API, writes the fixture, runs this).
 *
 *   node e2e/learning.mjs                 every scenario
 *   node e2e/learning.mjs replay bench    only the named ones
 *
 * Environment: TRAINYARD_E2E_BASE_URL, TRAINYARD_E2E_FIXTURE, TRAINYARD_E2E_SCREENSHOT_DIR,
 * TRAINYARD_E2E_CHROMIUM (as for run.mjs). Screenshots: evaluation.png, diagnostics.png,
 * replay.png, compare-eval.png, benchmarks.png.
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";
import { BASE_URL, CHROMIUM, CHROME_ARGS, OUT_DIR, WAIT_MS, expectChart, screenshot, toInt, until } from "./lib.mjs";
import { readFileSync } from "node:fs";

const fixture = JSON.parse(readFileSync(process.env.TRAINYARD_E2E_FIXTURE ?? "", "utf8"));
const RUN = "learn-a";
const run = fixture.runs[RUN];
const pct = (v) => `${(v * 100).toFixed(1)}%`;
const runUrl = (id) => `${BASE_URL}/training/${encodeURIComponent(id)}`;
const gameUrl = (n, move) => `${runUrl(RUN)}/games/${n}${move === undefined ? "" : `/${move}`}`;

/** Drag across a chart's plot area from fraction a to b of its width. */
async function dragAcross(page, testId, a, b) {
  await page.locator(`[data-testid="${testId}"]`).scrollIntoViewIfNeeded();
  const box = await page.locator(`[data-testid="${testId}"] .u-over`).boundingBox();
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width * a, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * ((a + b) / 2), y, { steps: 4 });
  await page.mouse.move(box.x + box.width * b, y, { steps: 4 });
  await page.mouse.up();
}

async function xRange(page, testId) {
  const host = page.locator(`[data-testid="${testId}"] .uplot-host`);
  return [Number(await host.getAttribute("data-x-min")), Number(await host.getAttribute("data-x-max"))];
}

const scenarios = {
  async evaluation(page) {
    await page.goto(runUrl(RUN));
    const panel = page.locator('[data-testid="evaluation-panel"]');
    await panel.locator('[data-testid="evaluation-row"]').first().waitFor({ timeout: WAIT_MS });
    const results = run.evaluation.results;
    assert.equal(await panel.locator('[data-testid="evaluation-row"]').count(), results.length, "one row per opponent");
    for (const r of results) {
      const row = panel.locator(`[data-testid="evaluation-row"][data-opponent="${r.opponent}"]`);
      assert.equal(
        await row.locator('[data-testid="win-rate"]').innerText(),
        pct(r.win_rate),
        `win rate vs ${r.opponent}`,
      );
      assert.equal(toInt(await row.locator('[data-testid="games"]').innerText()), fixture.games_per_opponent);
      assert.match(
        await row.innerText(),
        new RegExp(`${pct(r.win_rate_ci.low)}–${pct(r.win_rate_ci.high)}`),
        "interval",
      );
    }
    assert.equal(toInt(await page.locator('[data-testid="evaluation-timestep"]').innerText()), run.evaluation.timestep);
    const history = await page.locator('[data-testid="evaluation-history"] summary').innerText();
    assert.match(history, new RegExp(`${run.timesteps.length + 1} evaluations`), "history counts every evaluation");
    const curve = await expectChart(page, "evaluation-curve", { series: results.length });
    assert.equal(curve.points, run.timesteps.length, "one curve point per evaluated timestep");
    assert.equal(
      await page.locator('[data-testid="tensorboard-command"]').innerText(),
      `tensorboard --logdir ${run.tensorboard_dir}`,
    );
    await panel.scrollIntoViewIfNeeded();
    await page.evaluate(() => window.scrollBy(0, -90));
    await screenshot(page, "evaluation.png");
  },

  async diagnostics(page) {
    await page.goto(runUrl(RUN));
    const fields = [
      "entropy",
      "value_loss",
      "policy_gradient_loss",
      "approx_kl",
      "clip_fraction",
      "explained_variance",
      "legal_share",
      "invalid_actions",
      "steps_per_second",
      "loss", // SB3's train/loss: no built-in metric, passed through as a custom per-rollout one
      "learning_rate",
    ];
    for (const f of fields) {
      const chart = await expectChart(page, `diag-${f}`, { series: 2 });
      assert.equal(chart.points, run.rollouts, `diag-${f}: one point per rollout`);
    }
    await page.locator('[data-testid="invalid-actions-ok"]').waitFor();
    assert.equal(await page.locator('[data-testid="invalid-actions-warning"]').count(), 0);
    const length = await expectChart(page, "chart-steps", { series: 2 });
    assert.equal(length.points, run.episodes, "episode length: one point per episode");

    // Charts on the timestep axis zoom together.
    const [full0, full1] = await xRange(page, "diag-value_loss");
    await dragAcross(page, "diag-entropy", 0.25, 0.75);
    const zoomed = await until(async () => {
      const [a, b] = await xRange(page, "diag-value_loss");
      return a > full0 && b < full1 && [a, b];
    });
    assert.ok(zoomed, `value-loss chart did not follow the zoom of the entropy chart (${full0}..${full1})`);
    const same = (range) => range.every((v, i) => Math.abs(v - zoomed[i]) <= 1e-6 * Math.max(1, Math.abs(v)));
    assert.ok(same(await xRange(page, "diag-entropy")), "both charts show the same range");
    assert.ok(same(await xRange(page, "evaluation-curve")), "the evaluation curve follows too");
    await page.locator('[data-testid="diag-value_loss"]').dblclick();
    await page.locator('[data-testid="diagnostics"]').scrollIntoViewIfNeeded();
    await page.evaluate(() => window.scrollBy(0, -70));
    await screenshot(page, "diagnostics.png");
  },

  async replay(page) {
    const k = fixture.known;
    await page.goto(runUrl(RUN));
    await page
      .locator(`[data-testid="evaluation-row"][data-opponent="${k.opponent}"] [data-testid="replay-link"]`)
      .click();
    await page.waitForURL(gameUrl(k.n));
    const label = page.locator('[data-testid="move-label"]');
    await label.waitFor({ timeout: WAIT_MS });
    assert.match(await label.innerText(), new RegExp(`Move ${k.moves} of ${k.moves}`), "opens at the final position");
    const own = k.scores[k.agent_seat];
    const other = Math.max(...k.scores.filter((_, i) => i !== k.agent_seat));
    const result = await page.locator('[data-testid="result"]').innerText();
    assert.match(result, own > other ? /agent won/ : own < other ? new RegExp(`${k.opponent} won`) : /Draw/);

    // Keys step through the moves; every move has its URL.
    await page.keyboard.press("ArrowLeft");
    await page.waitForURL(gameUrl(k.n, k.moves - 1));
    await page.keyboard.press("Home");
    await page.waitForURL(gameUrl(k.n, 0));
    const placedAt = () => page.locator('[data-testid="board"] rect[data-seat]:not([data-seat="-1"])').count();
    // The URL changes first; the board follows on the next render.
    assert.ok(await until(async () => (await placedAt()) === 0), "move 0 shows the empty board");
    await page.keyboard.press("ArrowRight");
    await page.waitForURL(gameUrl(k.n, 1));

    // A known position, opened by its URL.
    await page.goto(gameUrl(k.n, k.move));
    await page.locator('[data-testid="board"]').waitFor({ timeout: WAIT_MS });
    const placed = k.cell_counts.slice(0, k.move).reduce((a, b) => a + b, 0);
    assert.equal(await page.locator('[data-testid="board"] rect[data-seat]:not([data-seat="-1"])').count(), placed);
    assert.equal(
      await page.locator('[data-testid="last-move-cell"]').count(),
      k.cell_counts[k.move - 1],
      "last move outlined",
    );
    const expected = k.scores.map(() => 0);
    for (let i = 0; i < k.move; i++) expected[k.seats[i]] += k.cell_counts[i];
    const shown = (await page.locator('[data-testid="score"]').allInnerTexts()).map(Number);
    assert.deepEqual(shown, expected, "score after the move");

    // Screenshot check: each cell's colour in the picture is the seat the engine says owns it.
    const png = await page.locator('[data-testid="board"]').screenshot();
    const size = k.board.length;
    const pixels = await page.evaluate(
      async ({ b64, size }) => {
        const img = new Image();
        img.src = `data:image/png;base64,${b64}`;
        await img.decode();
        const canvas = document.createElement("canvas");
        canvas.width = img.width;
        canvas.height = img.height;
        const ctx = canvas.getContext("2d");
        ctx.drawImage(img, 0, 0);
        const cell = img.width / size;
        const out = [];
        for (let r = 0; r < size; r++)
          for (let c = 0; c < size; c++) {
            const d = ctx.getImageData(Math.floor((c + 0.5) * cell), Math.floor((r + 0.5) * cell), 1, 1).data;
            out.push([d[0], d[1], d[2]]);
          }
        return out;
      },
      { b64: png.toString("base64"), size },
    );
    const palette = {
      "-1": [0xee, 0xf1, 0xf5],
      0: [0x6a, 0x3f, 0xb5],
      1: [0xe0, 0x7b, 0x00],
      2: [0x00, 0x72, 0xb2],
      3: [0x00, 0x9e, 0x73],
    };
    const nearest = (rgb) =>
      Number(
        Object.entries(palette).sort(
          ([, a], [, b]) =>
            a.reduce((s, v, i) => s + (v - rgb[i]) ** 2, 0) - b.reduce((s, v, i) => s + (v - rgb[i]) ** 2, 0),
        )[0][0],
      );
    const wrong = [];
    pixels.forEach((rgb, i) => {
      const want = k.board[Math.floor(i / size)][i % size];
      if (nearest(rgb) !== want) wrong.push(`cell ${i}: want ${want}, got rgb(${rgb})`);
    });
    assert.deepEqual(wrong, [], "the screenshot shows the engine's board");
    await screenshot(page, "replay.png");

    // Play advances by itself.
    await page.locator('[data-testid="play"]').click();
    await page.waitForURL(gameUrl(k.n, k.move + 1), { timeout: WAIT_MS });
    await page.locator('[data-testid="play"]').click();
  },

  async curveClick(page) {
    await page.goto(runUrl(RUN));
    await expectChart(page, "evaluation-curve", { series: run.evaluation.results.length });
    await page.locator('[data-testid="evaluation-curve"]').scrollIntoViewIfNeeded();
    const over = await page.locator('[data-testid="evaluation-curve"] .u-over').boundingBox();
    const [xMin, xMax] = await xRange(page, "evaluation-curve");
    const r = run.evaluation.results.find((x) => x.opponent === "random");
    const t = run.evaluation.timestep;
    const x = over.x + Math.min(over.width - 1, ((t - xMin) / (xMax - xMin)) * over.width);
    const y = over.y + Math.min(over.height - 2, Math.max(2, (1 - r.win_rate) * over.height));
    await page.mouse.move(x - 3, y);
    await page.mouse.move(x, y);
    await page.mouse.click(x, y);
    // Equal win rates at that timestep make either opponent's first game a right answer.
    const firsts = run.evaluation.results.filter((o) => o.win_rate === r.win_rate).map((o) => o.first_game);
    await page.waitForURL((url) => firsts.some((n) => url.pathname === `/training/${RUN}/games/${n}`), {
      timeout: WAIT_MS,
    });
  },

  async compare(page) {
    await page.goto(`${BASE_URL}/training/compare?runs=learn-a,learn-b`);
    for (const o of run.evaluation.results.map((r) => r.opponent))
      await expectChart(page, `compare-eval-${o}`, { series: 2 });
    await page.locator('[data-testid="compare-eval-greedy"]').scrollIntoViewIfNeeded();
    await screenshot(page, "compare-eval.png");
  },

  async bench(page) {
    await page.goto(`${BASE_URL}/benchmarks`);
    const random = page.locator('[data-testid="bench-opponent"][data-opponent="random"]');
    await random.waitFor({ timeout: WAIT_MS });
    const budgets = await random
      .locator('[data-testid="bench-budget"]')
      .evaluateAll((els) => els.map((e) => e.dataset.budget));
    assert.deepEqual(budgets, ["512", "1024"], "one table per budget");
    const big = random.locator('[data-testid="bench-budget"][data-budget="1024"] [data-testid="bench-row"]');
    assert.equal(await big.count(), 1, "the two seeds of one experiment form one row");
    assert.equal(await big.locator('[data-testid="bench-seeds"]').innerText(), "2");
    const small = random.locator('[data-testid="bench-budget"][data-budget="512"] [data-testid="bench-row"]');
    assert.equal(await small.locator('[data-testid="bench-seeds"]').innerText(), "1");
    await screenshot(page, "benchmarks.png");
    await small.locator('[data-testid="bench-run-link"]').click();
    await page.waitForURL(runUrl("learn-small"));
  },

  async ladder(page) {
    await page.goto(`${BASE_URL}/ladder`);
    const rows = page.locator('[data-testid="ladder-row"]');
    await rows.first().waitFor({ timeout: WAIT_MS });
    const { players, ratings } = fixture.ladder;
    assert.equal(await rows.count(), players.length, "one leaderboard row per player");
    const shown = await rows.evaluateAll((els) => els.map((e) => e.dataset.player));
    const best = [...players].sort((a, b) => ratings[b] - ratings[a]);
    assert.deepEqual(shown, best, "leaderboard sorted by rating");
    const random = rows.filter({ has: page.locator("text=(anchor)") });
    assert.equal(await random.locator('[data-testid="rating"]').innerText(), "1000", "random is the anchor at 1000");
    for (const name of players) {
      const text = await page
        .locator(`[data-testid="ladder-row"][data-player="${name}"] [data-testid="rating"]`)
        .innerText();
      assert.equal(text, ratings[name].toFixed(0), `rating of ${name}`);
    }
    const cells = page.locator('[data-testid="h2h-cell"]');
    assert.equal(await cells.count(), players.length ** 2, "a square head-to-head matrix");
    // Both halves agree: a's score against b plus b's against a is 100%.
    const [a, b] = players;
    const ab = await page.locator(`[data-testid="h2h-cell"][data-row="${a}"][data-col="${b}"]`).innerText();
    const ba = await page.locator(`[data-testid="h2h-cell"][data-row="${b}"][data-col="${a}"]`).innerText();
    assert.equal(toInt(ab) + toInt(ba), 100, `${a} vs ${b}: ${ab} and ${ba}`);
    await screenshot(page, "ladder.png");
  },
};

async function main() {
  assert.ok(BASE_URL, "TRAINYARD_E2E_BASE_URL is required");
  mkdirSync(OUT_DIR, { recursive: true });
  const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(scenarios);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROME_ARGS });
  let failed = 0;
  try {
    for (const name of names) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const errors = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      try {
        await scenarios[name](page);
        assert.deepEqual(errors, [], "no uncaught page errors");
        console.log(`ok   ${name}`);
      } catch (error) {
        failed += 1;
        console.log(`FAIL ${name}: ${error.stack ?? error}`);
        await page.screenshot({ path: `${OUT_DIR}/fail-${name}.png` }).catch(() => {});
      } finally {
        await page.close();
      }
    }
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
}

await main();
