"""Train Stable-Baselines3's DQN on CartPole-v1 and record the run in Trainyard, epsilon included.

The seed's ``dqn_agent``, on a non-Blokus gymnasium env, logged through trainyard_client (no
Trainyard trainer involved). With MongoDB where the API reads (``MONGODB_URI``, ``MONGODB_DB_NAME``):

    python examples/cartpole_dqn.py --timesteps 50000
    # then http://127.0.0.1:8000/training (make dev): agent dqn_agent, algorithm DQN
"""

from __future__ import annotations

import argparse
import logging

import gymnasium as gym
from stable_baselines3 import DQN
from stable_baselines3.common.monitor import Monitor
from trainyard_client import start_run
from trainyard_client.sb3 import TrainyardCallback

log = logging.getLogger("cartpole_dqn")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=50_000)
    parser.add_argument("--agent-id", default="dqn_agent")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-id", help="default: a new UUID")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    hyperparameters = {"learning_rate": 1e-3, "buffer_size": 50_000, "learning_starts": min(1000, args.timesteps // 4),
                       "exploration_fraction": 0.5, "exploration_final_eps": 0.05, "train_freq": 4}
    config = {"env_id": "CartPole-v1", "total_timesteps": args.timesteps, "seed": args.seed, **hyperparameters}
    env = Monitor(gym.make("CartPole-v1"))
    with start_run(args.agent_id, algorithm="DQN", config=config, run_id=args.run_id) as run:
        model = DQN("MlpPolicy", env, seed=args.seed, verbose=0, **hyperparameters)
        model.learn(total_timesteps=args.timesteps, callback=TrainyardCallback(run))
        log.info("run %s: %d episodes, final epsilon %.3f", run.run_id, run.episodes_logged, model.exploration_rate)
    env.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
