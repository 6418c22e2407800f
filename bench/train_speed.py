"""Training speed and model size, before (legacy dense-head CNN) and after (board-shaped policy).

Each configuration trains MaskablePPO on Blokus Duo against ``random`` in a fresh process for the
same timesteps and reports parameters, checkpoint size, model build time and ``learn`` steps/s:

* ``legacy``: the earlier network (``CnnPolicy`` + ``legacy_policy_kwargs``) with the earlier
  ``full`` settings (1 env, 1 torch thread, n_steps 2048, batch 256, 10 epochs);
* ``board``: ``BlokusPolicy`` with the same env count and PPO settings (the "same n_envs" row);
* ``full``: ``BlokusPolicy`` with today's ``full`` defaults (``settings.FULL_DEFAULTS``);
* ``legacy-full``: the earlier network with today's ``full`` settings (8 envs, 2 threads...): the
  "same n_envs" row for ``full``, so its speed-up is the network's, not more environments'.

Each row trains ``TIMESTEPS[config]`` (or ``--timesteps``) so it takes minutes, not an hour: 4,096 for
one env, 16,384 (eight rollouts) for eight, whose rows are otherwise two rollouts and too noisy. Steps/s
mixes rollout and update in the same proportion as a real run when timesteps is a multiple of
n_envs x n_steps. ``--device cuda`` measures a GPU the same way.

    python bench/train_speed.py [--timesteps N] [--configs legacy,board,legacy-full,full] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import trainyard_trainer  # noqa: E402,F401 - sets torch's OpenMP wait policy, so before torch loads

from bench.table import print_table  # noqa: E402

TIMESTEPS = {"legacy": 4096, "board": 4096, "legacy-full": 16384, "full": 16384}
# each configuration's "before" at the same number of envs and PPO settings
SAME_ENVS = {"legacy": "legacy", "board": "legacy", "legacy-full": "legacy-full", "full": "legacy-full"}
LEGACY_FULL = {"n_envs": 1, "torch_threads": 1, "n_steps": 2048, "batch_size": 256, "n_epochs": 10}


def config(name: str) -> dict:
    from trainyard_trainer.settings import FULL_DEFAULTS

    if name in ("legacy", "board"):
        return dict(LEGACY_FULL)  # legacy-full and full: today's defaults
    return {k: FULL_DEFAULTS[k] for k in ("n_envs", "torch_threads", "n_steps", "batch_size", "n_epochs")}


def child(name: str, timesteps: int, device: str, out: Path) -> None:
    import gymnasium as gym
    import torch
    import trainyard_trainer.envs  # noqa: F401 - registers the environments
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv
    from trainyard_trainer.policy import legacy_policy_kwargs, make_policy

    cfg = config(name)
    torch.set_num_threads(cfg["torch_threads"])

    def make(seed: int):
        def f():
            env = gym.make("trainyard/BlokusDuo-v0", opponent="random")
            env.reset(seed=seed)
            return Monitor(env)
        return f

    env = DummyVecEnv([make(i) for i in range(cfg["n_envs"])])
    if name.startswith("legacy"):
        policy, kwargs = "CnnPolicy", legacy_policy_kwargs()
    else:
        policy, kwargs = make_policy(env.observation_space)
    t0 = time.perf_counter()
    model = MaskablePPO(policy, env, n_steps=cfg["n_steps"], batch_size=cfg["batch_size"], n_epochs=cfg["n_epochs"],
                        seed=0, device=device, policy_kwargs=kwargs, verbose=0)
    build = time.perf_counter() - t0
    model.learn(min(256, timesteps))  # warm-up: lazy numba and torch initialisation
    t1 = time.perf_counter()
    model.learn(timesteps, reset_num_timesteps=False)
    learn = time.perf_counter() - t1
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp) / "m.zip")
        size = (Path(tmp) / "m.zip").stat().st_size
    params = sum(p.numel() for p in model.policy.parameters())
    out.write_text(json.dumps({"params": params, "size": size, "build": build, "rate": timesteps / learn,
                               **{k: cfg[k] for k in cfg}}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, help="timesteps per row (default: TIMESTEPS)")
    parser.add_argument("--configs", default="legacy,board,legacy-full,full")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.timesteps, args.device, Path(args.out))
        return 0
    rows, rates = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.configs.split(","):
            out = Path(tmp) / f"{name}.json"
            timesteps = args.timesteps or TIMESTEPS[name]
            subprocess.run([sys.executable, __file__, "--child", name, "--timesteps", str(timesteps),
                            "--device", args.device, "--out", str(out)], check=True)
            r = json.loads(out.read_text())
            rates[name] = r["rate"]
            rows.append([name, f"{r['params']:,}", f"{r['size'] / 1e6:.2f}", f"{r['build']:.2f}",
                         f"{r['n_envs']} / {r['torch_threads']}",
                         f"{r['n_steps']} / {r['batch_size']} / {r['n_epochs']}", f"{timesteps:,}",
                         f"{r['rate']:.1f}", f"{r['rate'] / rates.get(SAME_ENVS[name], r['rate']):.2f}x"])
    print_table("Training speed, Blokus Duo vs random, after a warm-up, "
                f"device {args.device}; checkpoint goal <= 5 MB, steps/s goal >= 2x legacy at the same n_envs",
                ["config", "parameters", "checkpoint MB", "build s", "envs / threads", "n_steps / batch / epochs",
                 "timesteps", "steps/s", "vs legacy, same envs and settings"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
