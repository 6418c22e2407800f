// Opens the web UI served by the in-cluster API pod in headless Chromium (playwright-core from
// web/node_modules): the run's page must show the run and list its checkpoint, and the
// checkpoint's download link must return the file. Prints one JSON line for pytest; saves a
// screenshot. Env: BASE_URL, RUN_ID, CHROMIUM, SCREENSHOT. Run with cwd web/.
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(join(process.cwd(), "package.json"));
const { chromium } = require("playwright-core");
const { BASE_URL, RUN_ID, CHROMIUM, SCREENSHOT } = process.env;

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${BASE_URL}/training/${encodeURIComponent(RUN_ID)}`, { waitUntil: "networkidle" });
  const link = page.locator("a[download]").first();
  await link.waitFor({ timeout: 60000 });
  await link.scrollIntoViewIfNeeded();
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  const href = await link.getAttribute("href");
  const resp = await page.request.get(new URL(href, BASE_URL).toString());
  const body = await resp.body();
  const text = await page.locator("body").innerText();
  console.log(JSON.stringify({ text, href, downloadStatus: resp.status(), downloadBytes: body.length }));
} finally {
  await browser.close();
}
