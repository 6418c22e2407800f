#!/usr/bin/env node
/**
 * A stand-in for the Trainyard API, for front-end work without MongoDB: synthetic runs served with
 * the real API's contract (list filters/sort/paging with X-Total-Count, detail with downsampling and
 * episode ranges, agents, SSE stream, CSV/JSON export, 503 while "the database is down").
 *
 *   node dev/mock-api.mjs [--port 8100] [--static dist] [--fixture-out path.json]
 *
 * One run keeps running (an episode every 300 ms). `kill -USR1 <pid>` toggles a database outage
 * (every /api request answers 503), which is how the e2e outage mode can be tried locally.
 * With --static it also serves the production build with the API's SPA fallback.
 */
import { createReadStream, existsSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize, resolve } from "node:path";
import { parseArgs } from "node:util";
import { HttpError, detailOf, intParam, listRuns, runs, strip, summaryOf, tick, winPoints } from "./mock-data.mjs";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "8100" },
    static: { type: "string" },
    "fixture-out": { type: "string" },
  },
});

// ---- HTTP ---------------------------------------------------------------------------------------

let databaseDown = false;
const streams = new Set();
process.on("SIGUSR1", () => {
  databaseDown = !databaseDown;
  console.log(`mock-api: database ${databaseDown ? "DOWN" : "UP"}`);
  if (databaseDown) for (const s of streams) s.end();
});

function sendJson(res, status, body, headers = {}) {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

function findRun(id) {
  const run = runs.find((r) => r.run_id === id);
  if (!run) throw new HttpError(404, `training run ${id} not found`);
  return run;
}

function stream(req, res, run, since) {
  res.writeHead(200, {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    Connection: "keep-alive",
    "X-Accel-Buffering": "no",
  });
  const send = (event, data) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  let last = since;
  let lastStatus = "";
  const push = () => {
    tick();
    const fresh = run.episodes.filter((e) => e.episode > last);
    if (fresh.length) {
      last = fresh[fresh.length - 1].episode;
      send("episodes", { episodes: fresh.map(strip), rolling_win_rate: winPoints(fresh) });
    }
    const summary = summaryOf(run);
    const sig = JSON.stringify([summary.status, summary.summary]);
    if (sig !== lastStatus) {
      lastStatus = sig;
      send("status", summary);
    }
    if (run.status !== "running") {
      send("end", { status: run.status });
      res.end();
    }
  };
  push();
  const timer = setInterval(push, 500);
  streams.add(res);
  const stop = () => {
    clearInterval(timer);
    streams.delete(res);
  };
  res.on("close", stop);
  res.on("finish", stop);
}

function exportRun(res, run, format) {
  const eps = run.episodes;
  if (format === "json") {
    res.writeHead(200, {
      "Content-Type": "application/json",
      "Content-Disposition": `attachment; filename="${run.run_id}.json"`,
    });
    res.end(JSON.stringify({ run_id: run.run_id, episodes: eps }));
    return;
  }
  res.writeHead(200, { "Content-Type": "text/csv", "Content-Disposition": `attachment; filename="${run.run_id}.csv"` });
  res.write("episode,total_reward,steps,win,epsilon,timestep,win_rate,time\n");
  for (const e of eps)
    res.write(
      `${e.episode},${e.total_reward},${e.steps},${e.win ?? ""},${e.epsilon ?? ""},${e.timestep},${e.win_rate ?? ""},${e.time}\n`,
    );
  res.end();
}

function api(req, res, url) {
  if (databaseDown) throw new HttpError(503, "MongoDB is unreachable: mock outage (SIGUSR1 to restore)");
  const q = url.searchParams;
  const path = url.pathname;
  tick();
  if (path === "/api/training-runs") {
    const { total, page } = listRuns(q);
    return sendJson(res, 200, page, { "X-Total-Count": String(total) });
  }
  if (path === "/api/training-runs/agents/list") {
    return sendJson(res, 200, { agent_ids: [...new Set(runs.map((r) => r.agent_id))].sort() });
  }
  const m = /^\/api\/training-runs\/([^/]+)(\/stream|\/export)?$/.exec(path);
  if (!m) throw new HttpError(404, "Not Found");
  const run = findRun(decodeURIComponent(m[1]));
  if (m[2] === "/stream") return stream(req, res, run, intParam(q, "since_episode") ?? 0);
  if (m[2] === "/export") {
    const format = q.get("format") ?? "csv";
    if (!["csv", "json"].includes(format)) throw new HttpError(422, "format must be csv or json");
    return exportRun(res, run, format);
  }
  return sendJson(res, 200, detailOf(run, q));
}

const TYPES = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".css": "text/css",
  ".svg": "image/svg+xml",
  ".json": "application/json",
};

function serveStatic(res, url) {
  const root = resolve(args.static);
  let file = normalize(join(root, decodeURIComponent(url.pathname)));
  if (!file.startsWith(root) || !existsSync(file) || statSync(file).isDirectory()) file = join(root, "index.html");
  res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" });
  createReadStream(file).pipe(res);
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  try {
    if (url.pathname === "/healthz") return sendJson(res, 200, { status: "ok" });
    if (url.pathname.startsWith("/api/")) return api(req, res, url);
    if (args.static) return serveStatic(res, url);
    throw new HttpError(404, "Not Found");
  } catch (error) {
    if (res.headersSent) return res.end();
    if (error instanceof HttpError) return sendJson(res, error.status, { detail: error.message });
    console.error(error);
    return sendJson(res, 500, { detail: String(error) });
  }
});

server.listen(Number(args.port), "127.0.0.1", () => {
  console.log(`mock-api: listening on http://127.0.0.1:${args.port} (pid ${process.pid})`);
  if (args["fixture-out"]) {
    tick();
    const fixture = {
      runs: runs.map((r) => ({
        run_id: r.run_id,
        agent_id: r.agent_id,
        status: r.status,
        episodes: r.episodes.length,
      })),
      running_run_id: "ppo-live-0001",
      failed_run_id: "ppo-blokus-crash-9f8e",
      compare_run_ids: ["ppo-blokus-a1b2c3d4", "ppo-blokus-e5f6a7b8"],
    };
    writeFileSync(args["fixture-out"], `${JSON.stringify(fixture, null, 2)}\n`);
  }
});
