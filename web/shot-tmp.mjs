import { chromium } from "playwright-core";
const [url, out, sel] = process.argv.slice(2);
const b = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
const p = await b.newPage({ viewport: { width: 1400, height: 1000 } });
await p.goto(url, { waitUntil: "networkidle" });
await p.waitForTimeout(3000);
if (sel) { const el = p.locator(sel).first(); await el.scrollIntoViewIfNeeded(); await el.screenshot({ path: out }); }
else await p.screenshot({ path: out, fullPage: true });
await b.close();
