"""The trainer's Prometheus metrics (the only module that talks to prometheus_client).

Names carry the ``trainyard_trainer_`` prefix and their unit; every series is labelled with
``run_id`` and ``agent_id`` so Grafana can link a series to the run's page in the web UI.

Per-episode values come from the metric declarations (``trainyard_runstore.metrics``): every declared
metric, built-in or custom, is a gauge ``trainyard_trainer_episode_<name>`` holding the last episode's
value, with the declaration's description and unit as help text. A custom per-rollout metric (an SB3
``train/<name>`` value, see ``callbacks.DiagnosticsCallback``) is a gauge ``trainyard_trainer_rollout_<name>``
holding the last update's value. A new declaration needs no code here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from trainyard_runstore.metrics import EPISODE_METRICS, MetricSpec, custom_rollout, spec
from trainyard_runstore.schema import Episode

log = logging.getLogger(__name__)

LABELS = ("run_id", "agent_id")

# Names dashboards and alerts used before the gauges were derived from the declarations.
LEGACY_NAMES = {"total_reward": "trainyard_trainer_episode_reward",
                "win_rate": "trainyard_trainer_rolling_win_rate_ratio"}


def episode_metric_name(name: str) -> str:
    return LEGACY_NAMES.get(name, f"trainyard_trainer_episode_{name}")


def episode_metric_help(m: MetricSpec) -> str:
    unit = "0 or 1" if m.type == "bool" else ("0-1" if m.unit == "fraction" else m.unit)
    return f"Last episode: {m.description or m.name}" + (f" ({unit})" if unit else "")


def rollout_metric_name(name: str) -> str:
    return f"trainyard_trainer_rollout_{name}"


def rollout_metric_help(m: MetricSpec) -> str:
    return f"Last PPO update: {m.description or m.name}" + (f" ({m.unit})" if m.unit else "")


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
        # Built-in families exist from the start (a dashboard's query names them); a run's series
        # appears with its first value, so a PPO run shows no epsilon at 0.
        self._episode_gauges: dict[str, Gauge] = {
            m.name: Gauge(episode_metric_name(m.name), episode_metric_help(m), LABELS, registry=r)
            for m in EPISODE_METRICS}
        self._rollout_gauges: dict[str, Gauge] = {}
        self._refused: set[str] = set()
        self.episodes = counter("trainyard_trainer_episodes", "Episodes finished")
        self.timesteps = counter("trainyard_trainer_timesteps", "Environment steps taken")
        self.checkpoints = counter("trainyard_trainer_checkpoints", "Checkpoints saved")
        self.invalid_actions = counter("trainyard_trainer_invalid_actions", "Actions chosen outside the mask")
        self.episode_reward_mean = gauge("trainyard_trainer_episode_reward_mean",
                                         "Mean total reward over the rolling window")
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

    def observe_episode(self, episode: Episode, declared: Mapping[str, MetricSpec] | None = None) -> None:
        """Set every declared metric the episode carries (built-in and custom) to its value;
        ``declared``: the run's custom declarations, for their unit and description."""
        values: dict[str, float | bool | int | None] = {m.name: getattr(episode, m.name) for m in EPISODE_METRICS}
        values.update(episode.metrics)
        for name, value in values.items():
            if value is None:
                continue
            gauge = self._episode_gauges.get(name) or self._custom_gauge(
                self._episode_gauges, name, episode_metric_name(name), episode_metric_help(spec(name, declared)))
            if gauge is not None:
                gauge.labels(*self._labels).set(float(value))

    def observe_rollout(self, values: Mapping[str, float], declared: Mapping[str, MetricSpec] | None = None) -> None:
        """Set the gauge of every custom per-rollout metric of an update (the built-in diagnostics have
        their gauges above); ``declared``: the run's declarations, for their unit and description."""
        for name, value in values.items():
            m = (declared or {}).get(name) or custom_rollout(name)
            gauge = self._rollout_gauges.get(name) or self._custom_gauge(
                self._rollout_gauges, name, rollout_metric_name(name), rollout_metric_help(m))
            if gauge is not None:
                gauge.labels(*self._labels).set(float(value))

    def _custom_gauge(self, gauges: dict[str, Gauge], name: str, metric: str, help_text: str) -> Gauge | None:
        if metric in self._refused:
            return None
        try:
            gauge = Gauge(metric, help_text, LABELS, registry=self.registry)
        except ValueError:  # e.g. a custom "reward" against the legacy name of total_reward
            log.warning("custom metric %r: Prometheus name %s is taken; not exported", name, metric)
            self._refused.add(metric)
            return None
        gauges[name] = gauge
        return gauge

    def loss(self, kind: str, value: float) -> None:
        self._loss.labels(*self._labels, kind).set(value)

    def serve(self, port: int, addr: str) -> int:
        """Start the /metrics endpoint; returns the bound port."""
        server, _thread = start_http_server(port, addr=addr, registry=self.registry)
        self._server = server
        bound = server.server_port
        log.info("Prometheus metrics on http://%s:%d/metrics", addr, bound)
        return bound

    def stop(self) -> None:
        """Stop the /metrics endpoint that ``serve`` started, if any."""
        server = getattr(self, "_server", None)
        if server is not None:
            server.shutdown()
            server.server_close()
            self._server = None
