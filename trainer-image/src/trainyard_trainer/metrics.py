"""The trainer's Prometheus metrics (the only module that talks to prometheus_client).

Names carry the ``trainyard_trainer_`` prefix and their unit; every series is labelled with
``run_id`` and ``agent_id`` so Grafana can link a series to the run's page in the web UI.
"""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

log = logging.getLogger(__name__)

LABELS = ("run_id", "agent_id")


class TrainerMetrics:
    def __init__(self, run_id: str, agent_id: str, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r, lv = self.registry, (run_id, agent_id)

        def counter(name: str, doc: str) -> Counter:
            return Counter(name, doc, LABELS, registry=r).labels(*lv)

        def gauge(name: str, doc: str, extra: tuple[str, ...] = ()) -> Gauge:
            g = Gauge(name, doc, LABELS + extra, registry=r)
            return g if extra else g.labels(*lv)

        self._labels = lv
        self.episodes = counter("trainyard_trainer_episodes", "Episodes finished")
        self.timesteps = counter("trainyard_trainer_timesteps", "Environment steps taken")
        self.checkpoints = counter("trainyard_trainer_checkpoints", "Checkpoints saved")
        self.invalid_actions = counter("trainyard_trainer_invalid_actions", "Actions chosen outside the mask")
        self.episode_reward = gauge("trainyard_trainer_episode_reward", "Total reward of the last episode")
        self.episode_reward_mean = gauge("trainyard_trainer_episode_reward_mean",
                                         "Mean total reward over the rolling window")
        self.win_rate = gauge("trainyard_trainer_rolling_win_rate_ratio", "Rolling win rate (0-1)")
        self.steps_per_second = gauge("trainyard_trainer_steps_per_second", "Environment steps per second")
        self.legal_actions = gauge("trainyard_trainer_legal_actions_ratio",
                                   "Share of actions legal under the mask, last rollout")
        self.entropy = gauge("trainyard_trainer_policy_entropy_nats", "Policy entropy, last update")
        self._loss = gauge("trainyard_trainer_ppo_loss", "PPO losses of the last update", ("loss",))
        self.approx_kl = gauge("trainyard_trainer_ppo_approx_kl", "Approximate KL of the last update")
        self.clip_fraction = gauge("trainyard_trainer_ppo_clip_fraction_ratio", "Clipped share, last update")
        self.buffered = gauge("trainyard_trainer_logger_buffered_episodes",
                              "Episodes waiting for MongoDB in memory")
        self.spilled = gauge("trainyard_trainer_logger_spilled_episodes",
                             "Episodes spilled to the JSONL file while MongoDB was down")
        self.db_up = gauge("trainyard_trainer_mongodb_up", "1 while the run logger reaches MongoDB")

    def loss(self, kind: str, value: float) -> None:
        self._loss.labels(*self._labels, kind).set(value)

    def serve(self, port: int, addr: str) -> int:
        """Start the /metrics endpoint; returns the bound port."""
        server, _thread = start_http_server(port, addr=addr, registry=self.registry)
        bound = server.server_port
        log.info("Prometheus metrics on http://%s:%d/metrics", addr, bound)
        return bound
