/**
 * Synthetic training runs for the mock API (`mock-api.mjs`) and the queries over them that mirror
 * the real API: list filters/sort/paging, detail with downsampling and episode ranges, summaries.
 * One run ("ppo-live-0001") keeps growing by an episode every 300 ms while the process runs.
 */
// ---- Synthetic data -------------------------------------------------------------------------------

function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WINDOW = 100;
const BOOT = Date.now();

function makeEpisode(run, n) {
  const r = run.rand;
  const progress = 1 - Math.exp(-n / run.speed);
  const reward = run.floor + run.ceiling * progress + (r() - 0.5) * run.noise;
  const steps = 30 + Math.floor(r() * 40);
  const prev = run.episodes[run.episodes.length - 1];
  const ep = {
    episode: n,
    total_reward: Math.round(reward * 1000) / 1000,
    steps,
    timestep: (prev?.timestep ?? 0) + steps,
    time: new Date(Date.parse(run.start_time) + n * run.secondsPerEpisode * 1000).toISOString(),
  };
  if (run.wins) {
    ep.win = r() < 0.2 + 0.6 * progress;
    run.winWindow.push(ep.win ? 1 : 0);
    if (run.winWindow.length > WINDOW) run.winWindow.shift();
    ep.win_rate = run.winWindow.reduce((a, b) => a + b, 0) / run.winWindow.length;
  }
  if (run.epsilon) ep.epsilon = Math.max(0.05, 1 - n / 500);
  return ep;
}

function addEpisodes(run, count) {
  for (let i = 0; i < count; i++) run.episodes.push(makeEpisode(run, run.episodes.length + 1));
}

function makeRun(spec, i) {
  const run = {
    id: `65a${String(i).padStart(21, "0")}`,
    run_id: spec.run_id,
    agent_id: spec.agent_id,
    algorithm: spec.algorithm ?? "MaskablePPO",
    status: spec.status,
    start_time: new Date(BOOT - spec.startedAgo * 1000).toISOString().replace(/\.\d+Z$/, "Z"),
    end_time: null,
    config: spec.config,
    metadata: spec.metadata ?? {},
    checkpoint_paths: [],
    episodes: [],
    winWindow: [],
    wins: spec.wins ?? true,
    epsilon: spec.epsilon ?? false,
    rand: prng(i + 7),
    speed: spec.speed ?? 400,
    floor: spec.floor ?? -5,
    ceiling: spec.ceiling ?? 15,
    noise: spec.noise ?? 6,
    secondsPerEpisode: spec.secondsPerEpisode ?? 2,
    live: spec.live ?? false,
  };
  addEpisodes(run, spec.episodes);
  for (let e = 250; e <= spec.episodes; e += 250) {
    const ep = run.episodes[e - 1];
    run.checkpoint_paths.push({
      episode: e,
      timestep: ep.timestep,
      path: `checkpoints/${run.run_id}/ep${e}.zip`,
      time: ep.time,
    });
  }
  if (spec.status !== "running") {
    const last = run.episodes[run.episodes.length - 1];
    run.end_time = last ? last.time : run.start_time;
  }
  return run;
}

const baseConfig = {
  mode: "full",
  total_timesteps: 1_000_000,
  seed: 42,
  env: { id: "Blokus-v0", board_size: 20, players: 2 },
  ppo: {
    learning_rate: 0.0003,
    n_steps: 2048,
    batch_size: 64,
    gamma: 0.99,
    ent_coef: 0.01,
    net_arch: { pi: [256, 256], vf: [256, 256] },
  },
};
const withConfig = (patch) =>
  structuredClone({ ...baseConfig, ...patch, ppo: { ...baseConfig.ppo, ...(patch.ppo ?? {}) } });

const RUNS = [
  {
    run_id: "ppo-blokus-a1b2c3d4",
    agent_id: "ppo_agent",
    status: "completed",
    episodes: 1500,
    startedAgo: 86400 * 2,
    config: withConfig({}),
  },
  {
    run_id: "ppo-blokus-e5f6a7b8",
    agent_id: "ppo_agent",
    status: "completed",
    episodes: 1200,
    startedAgo: 86400,
    speed: 250,
    config: withConfig({ seed: 7, ppo: { learning_rate: 0.001, gamma: 0.995 } }),
  },
  {
    run_id: "550e8400-e29b-41d4-a716-446655440000",
    agent_id: "dqn_agent",
    algorithm: "DQN",
    status: "stopped",
    episodes: 800,
    startedAgo: 86400 * 3,
    wins: false,
    epsilon: true,
    config: { mode: "full", total_timesteps: 500000, dqn: { learning_rate: 0.0001, buffer_size: 100000 } },
  },
  {
    run_id: "ppo-blokus-crash-9f8e",
    agent_id: "ppo_agent",
    status: "failed",
    episodes: 320,
    startedAgo: 7200,
    config: withConfig({ ppo: { batch_size: 4096 } }),
    metadata: {
      error: {
        type: "ValueError",
        message:
          "Expected parameter logits (Tensor of shape (64, 400)) to satisfy the constraint IndependentConstraint(Real(), 1), but found invalid values: tensor([[nan, nan, ...]])",
        traceback: [
          "Traceback (most recent call last):",
          '  File "/app/trainyard_trainer/train.py", line 88, in run',
          "    model.learn(total_timesteps=settings.total_timesteps, callback=callbacks)",
          '  File "/usr/local/lib/python3.12/site-packages/sb3_contrib/ppo_mask/ppo_mask.py", line 212, in collect_rollouts',
          "    actions, values, log_probs = self.policy(obs_tensor, action_masks=action_masks)",
          "ValueError: Expected parameter logits ... but found invalid values",
        ],
        source: "trainer",
      },
      node: "gpu-node-3",
    },
  },
  {
    run_id: "dqn-oom-77aa",
    agent_id: "dqn_agent",
    algorithm: "DQN",
    status: "failed",
    episodes: 45,
    startedAgo: 3600,
    wins: false,
    config: { mode: "full", dqn: { buffer_size: 10000000 } },
    metadata: {
      error: {
        type: "OOMKilled",
        message: "container trainer was killed: out of memory",
        reason: "PodFailed",
        exit_code: 137,
        pod_reason: "OOMKilled",
        log_lines: ["[episode 44] reward=-3.1", "allocating replay buffer: 10000000 transitions", "Killed"],
        source: "operator",
      },
    },
  },
  {
    run_id: "ppo-long-20k",
    agent_id: "ppo_agent",
    status: "completed",
    episodes: 20000,
    startedAgo: 86400 * 6,
    speed: 4000,
    noise: 9,
    secondsPerEpisode: 1,
    config: withConfig({ total_timesteps: 10_000_000 }),
  },
  {
    run_id: "ppo-live-0001",
    agent_id: "ppo_agent",
    status: "running",
    episodes: 180,
    startedAgo: 360,
    live: true,
    config: withConfig({ mode: "smoke", total_timesteps: 50000 }),
  },
];

export const runs = RUNS.map(makeRun);
const liveStartedAt = Date.now();
const LIVE_EPISODE_MS = 300;

/** Grow running runs to where the clock says they are. */
export function tick() {
  for (const run of runs) {
    if (run.status !== "running" || !run.live) continue;
    const due = run.baseEpisodes ?? (run.baseEpisodes = run.episodes.length);
    const target = due + Math.floor((Date.now() - liveStartedAt) / LIVE_EPISODE_MS);
    if (target > run.episodes.length) addEpisodes(run, target - run.episodes.length);
  }
}

function stats(run) {
  const eps = run.episodes;
  const rewards = eps.map((e) => e.total_reward);
  const sum = rewards.reduce((a, b) => a + b, 0);
  const withWin = eps.filter((e) => e.win !== undefined);
  const last = eps[eps.length - 1];
  return {
    episodes: eps.length,
    timesteps: last?.timestep ?? 0,
    mean_reward: eps.length ? sum / eps.length : null,
    max_reward: eps.length ? Math.max(...rewards) : null,
    min_reward: eps.length ? Math.min(...rewards) : null,
    last_reward: last?.total_reward ?? null,
    final_win_rate: withWin.length ? last.win_rate : null,
    wins: withWin.filter((e) => e.win).length,
  };
}

export const strip = ({ win_rate: _winRate, ...ep }) => ep;
export const winPoints = (eps) =>
  eps.filter((e) => e.win_rate !== undefined).map((e) => ({ episode: e.episode, win_rate: e.win_rate }));

export function summaryOf(run) {
  const s = stats(run);
  const last = run.episodes[run.episodes.length - 1];
  const duration = run.end_time ? (Date.parse(run.end_time) - Date.parse(run.start_time)) / 1000 : null;
  return {
    id: run.id,
    run_id: run.run_id,
    agent_id: run.agent_id,
    algorithm: run.algorithm,
    status: run.status,
    start_time: run.start_time,
    end_time: run.end_time,
    duration_seconds: duration,
    summary: s,
    metrics: { episodes: last ? [strip(last)] : [], rolling_win_rate: last ? winPoints([last]) : [] },
    metadata: run.metadata,
  };
}

function downsample(eps, maxPoints) {
  const per = Math.ceil(eps.length / maxPoints);
  const out = [];
  const wr = [];
  for (let i = 0; i < eps.length; i += per) {
    const chunk = eps.slice(i, i + per);
    const rewards = chunk.map((e) => e.total_reward);
    const last = chunk[chunk.length - 1];
    out.push({
      episode: last.episode,
      total_reward: rewards.reduce((a, b) => a + b, 0) / chunk.length,
      total_reward_min: Math.min(...rewards),
      total_reward_max: Math.max(...rewards),
      steps: Math.round(chunk.reduce((a, e) => a + e.steps, 0) / chunk.length),
      count: chunk.length,
      timestep: last.timestep,
    });
    const rates = chunk.filter((e) => e.win_rate !== undefined).map((e) => e.win_rate);
    if (rates.length)
      wr.push({
        episode: last.episode,
        win_rate: rates[rates.length - 1],
        win_rate_min: Math.min(...rates),
        win_rate_max: Math.max(...rates),
      });
  }
  return { episodes: out, rolling_win_rate: wr, resolution: per };
}

export function detailOf(run, q) {
  let eps = run.episodes;
  const since = intParam(q, "since_episode");
  const from = intParam(q, "from_episode");
  const to = intParam(q, "to_episode");
  const maxPoints = intParam(q, "max_points", 10, 100000);
  let metrics;
  if (since !== null) {
    eps = eps.filter((e) => e.episode > since);
    metrics = { episodes: eps.map(strip), rolling_win_rate: winPoints(eps), downsampled: false, resolution: 1 };
  } else {
    if (from !== null) eps = eps.filter((e) => e.episode >= from);
    if (to !== null) eps = eps.filter((e) => e.episode <= to);
    const limit = maxPoints ?? (eps.length > 5000 ? 2000 : Infinity);
    if (eps.length > limit) metrics = { ...downsample(eps, limit), downsampled: true };
    else metrics = { episodes: eps.map(strip), rolling_win_rate: winPoints(eps), downsampled: false, resolution: 1 };
  }
  return { ...summaryOf(run), config: run.config, checkpoint_paths: run.checkpoint_paths, metrics };
}

// ---- HTTP ---------------------------------------------------------------------------------------

export class HttpError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export function intParam(q, name, min = 0, max = Number.MAX_SAFE_INTEGER) {
  const raw = q.get(name);
  if (raw === null || raw === "") return null;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max)
    throw new HttpError(422, `${name} must be an integer between ${min} and ${max}`);
  return v;
}

const SORTS = {
  start_time: (r) => r.start_time,
  end_time: (r) => r.end_time ?? "",
  duration: (r) => r.duration_seconds ?? Infinity,
  episodes: (r) => r.summary.episodes,
  final_metric: (r) => r.summary.final_win_rate ?? r.summary.mean_reward ?? -Infinity,
  mean_reward: (r) => r.summary.mean_reward ?? -Infinity,
  agent_id: (r) => r.agent_id,
  algorithm: (r) => r.algorithm,
  status: (r) => r.status,
  run_id: (r) => r.run_id,
};

export function listRuns(q) {
  let out = runs.map(summaryOf);
  const status = q.get("status");
  if (status && !["running", "completed", "stopped", "failed"].includes(status))
    throw new HttpError(422, "status must be one of running, completed, stopped, failed");
  if (q.get("agent_id")) out = out.filter((r) => r.agent_id === q.get("agent_id"));
  if (status) out = out.filter((r) => r.status === status);
  if (q.get("algorithm")) out = out.filter((r) => r.algorithm === q.get("algorithm"));
  const text = q.get("q")?.toLowerCase();
  if (text) out = out.filter((r) => r.run_id.toLowerCase().includes(text) || r.agent_id.toLowerCase().includes(text));
  for (const [name, keep] of [
    ["started_after", (a, b) => a >= b],
    ["started_before", (a, b) => a < b],
  ]) {
    const v = q.get(name);
    if (!v) continue;
    const t = Date.parse(v);
    if (Number.isNaN(t)) throw new HttpError(422, `${name} must be an ISO-8601 date-time`);
    out = out.filter((r) => keep(Date.parse(r.start_time), t));
  }
  const sort = q.get("sort") || "-start_time";
  const desc = sort.startsWith("-");
  const key = SORTS[desc ? sort.slice(1) : sort];
  if (!key)
    throw new HttpError(422, `sort must be one of ${Object.keys(SORTS).join(", ")} (optionally prefixed with -)`);
  out.sort((a, b) => {
    const x = key(a);
    const y = key(b);
    return (x < y ? -1 : x > y ? 1 : 0) * (desc ? -1 : 1);
  });
  const limit = intParam(q, "limit", 1, 1000) ?? 50;
  const offset = intParam(q, "offset") ?? 0;
  return { total: out.length, page: out.slice(offset, offset + limit) };
}
