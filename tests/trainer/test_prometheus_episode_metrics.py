"""The trainer's Prometheus exporter is generic over the metric declarations: a scrape of its real
/metrics endpoint shows a gauge per declared per-episode metric the run has (built-in and custom) with
the last episode's value and the declaration's unit in the help text, under the names dashboards use."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from trainyard_runstore.metrics import custom, custom_rollout
from trainyard_runstore.schema import Episode
from trainyard_trainer.metrics import TrainerMetrics

pytestmark = pytest.mark.unit


@pytest.fixture
def exporter():
    metrics = TrainerMetrics("run-7", "scored_agent", CollectorRegistry())
    port = metrics.serve(0, "127.0.0.1")
    yield metrics, port
    metrics.stop()


def scrape(port: int) -> dict[str, tuple[str, dict[str, float]]]:
    """Family name -> (help, {run_id: value}) from the endpoint's text format."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return {f.name: (f.documentation, {s.labels["run_id"]: s.value for s in f.samples})
            for f in text_string_to_metric_families(text) if f.name.startswith("trainyard_trainer_")}


def test_every_declared_metric_of_the_last_episode_is_a_gauge_with_its_unit(exporter):
    metrics, port = exporter
    declared = {"opponent_score": custom("opponent_score", unit="points", description="the opponent's final score")}
    metrics.observe_episode(Episode(episode=1, total_reward=1.0, steps=30, win=False, win_rate=0.0, timestep=30,
                                    metrics={"opponent_score": 61.0, "moves": 14.0}), declared)
    metrics.observe_episode(Episode(episode=2, total_reward=2.5, steps=40, win=True, win_rate=0.5, timestep=70,
                                    metrics={"opponent_score": 42.0, "moves": 12.0}), declared)
    families = scrape(port)

    # Built-in metrics, under the names the Grafana dashboard already queries.
    assert families["trainyard_trainer_episode_reward"][1] == {"run-7": 2.5}
    assert families["trainyard_trainer_rolling_win_rate_ratio"][1] == {"run-7": 0.5}
    assert families["trainyard_trainer_episode_steps"] == ("Last episode: agent steps in the episode (steps)",
                                                           {"run-7": 40.0})
    assert families["trainyard_trainer_episode_win"][1] == {"run-7": 1.0}
    # Custom metrics: declared ones with their unit, undeclared ones as logged.
    assert families["trainyard_trainer_episode_opponent_score"] == (
        "Last episode: the opponent's final score (points)", {"run-7": 42.0})
    assert families["trainyard_trainer_episode_moves"][1] == {"run-7": 12.0}
    # A metric this run never logged has no series (a PPO run shows no epsilon of 0).
    assert families["trainyard_trainer_episode_epsilon"][1] == {}


def test_a_custom_metric_whose_name_is_taken_is_skipped_not_fatal(exporter):
    metrics, port = exporter
    # "reward" is a legal custom name, but its gauge name is total_reward's (kept for dashboards).
    metrics.observe_episode(Episode(episode=1, total_reward=3.0, steps=5, metrics={"reward": 9.0}))
    assert scrape(port)["trainyard_trainer_episode_reward"][1] == {"run-7": 3.0}


def test_every_custom_per_rollout_metric_is_a_gauge_of_the_last_update(exporter):
    metrics, port = exporter
    declared = {"grad_norm": custom_rollout("grad_norm", unit="norm", description="gradient norm before clipping")}
    metrics.observe_rollout({"grad_norm": 2.5, "loss": 0.7}, declared)
    metrics.observe_rollout({"grad_norm": 1.5, "loss": 0.4}, declared)
    families = scrape(port)
    assert families["trainyard_trainer_rollout_grad_norm"] == (
        "Last PPO update: gradient norm before clipping (norm)", {"run-7": 1.5})
    assert families["trainyard_trainer_rollout_loss"][1] == {"run-7": 0.4}
