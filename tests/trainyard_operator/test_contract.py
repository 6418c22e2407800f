"""Contracts the operator shares with others, checked without a cluster.

- operator -> trainer: every ``TRAINER_*`` variable the Job builder sets is a field of the trainer's
  ``TrainerSettings`` and parses with it into the run's values (this test may import both
  deployables; the operator itself never imports the trainer).
- The CRD is generated from spec.py and status.py; test_crd.py checks the file against them.
"""

from __future__ import annotations

from typing import Any

import pytest
from trainyard_operator.builders import build_job
from trainyard_operator.settings import OperatorSettings
from trainyard_operator.spec import Hyperparameters, TrainingRun, TrainingRunSpec
from trainyard_runstore.settings import MongoSettings
from trainyard_trainer.settings import PPOHyperparameters, TrainerSettings

pytestmark = pytest.mark.unit

UID = "6c1f0e55-1b5e-4a43-9d0e-2f7b4a0c9d11"

SPECS = {
    "minimal": {"agentId": "a"},
    "everything": {
        "agentId": "ppo-blokus", "algorithm": "MaskablePPO", "env": "tests.support.faulty_env:CrashingBlokusDuo-v0",
        "opponent": "self-play", "mode": "full", "totalTimesteps": 123456, "seed": 42, "nEnvs": 4,
        "hyperparameters": {"learningRate": 0.0001, "nSteps": 256, "batchSize": 128, "nEpochs": 3, "gamma": 0.98,
                            "gaeLambda": 0.9, "clipRange": 0.1, "entCoef": 0.02, "vfCoef": 0.4,
                            "maxGradNorm": 0.7},
        "resources": {"cpu": "2", "memory": "4Gi", "gpu": 1},
        "checkpoint": {"claimName": "ckpt", "mountPath": "/data/checkpoints", "everyTimesteps": 1000},
        "evaluation": {"games": 20, "opponents": ["greedy"], "seed": 7, "everyTimesteps": 5000, "periodicGames": 6},
    },
}


def trainer_env(spec: dict, **settings: Any) -> dict[str, str]:
    opts = OperatorSettings(mongo=MongoSettings(db_name="db"), **settings)
    run = TrainingRun.from_body({"metadata": {"name": "r", "namespace": "n", "uid": UID}, "spec": spec})
    env = build_job(run, opts)["spec"]["template"]["spec"]["containers"][0]["env"]
    return {e["name"]: e["value"] for e in env if e["name"].startswith("TRAINER_")}


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_every_trainer_variable_is_a_trainer_setting(spec):
    env = trainer_env(spec)
    prefix = TrainerSettings.model_config["env_prefix"]
    unknown = {name for name in env if name.removeprefix(prefix).lower() not in TrainerSettings.model_fields}
    assert not unknown, f"the Job sets variables TrainerSettings does not know: {sorted(unknown)}"


@pytest.mark.parametrize("spec", SPECS.values(), ids=SPECS.keys())
def test_the_trainer_parses_the_jobs_environment(spec, monkeypatch):
    for name in [k for k in __import__("os").environ if k.startswith("TRAINER_")]:
        monkeypatch.delenv(name)
    for name, value in trainer_env(spec).items():
        monkeypatch.setenv(name, value)
    got = TrainerSettings()
    expected = TrainingRunSpec.model_validate(spec)
    assert got.run_id == UID
    assert (got.agent_id, got.algorithm, got.env_id, got.opponent, got.mode.value, got.seed, got.n_envs) == (
        expected.agent_id, expected.algorithm, expected.env, expected.opponent, expected.mode, expected.seed,
        expected.n_envs)
    if expected.total_timesteps:
        assert got.total_timesteps == expected.total_timesteps
    if expected.checkpoint.every_timesteps:
        assert got.checkpoint_every == expected.checkpoint.every_timesteps
    assert str(got.checkpoint_dir) == (expected.checkpoint.mount_path or "/checkpoints")
    assert got.device == ("cuda" if expected.resources.gpu else "cpu")
    assert (got.metrics_port, got.metrics_addr) == (9400, "0.0.0.0")
    assert got.attempt == 0  # the trainer numbers attempts from the run's history
    for name, value in expected.hyperparameters.trainer_values().items():
        assert getattr(got.hyperparameters, name) == pytest.approx(value), name
    for name, value in expected.evaluation.trainer_value().items():
        assert getattr(got.evaluation, name) == value, name


def test_every_spec_hyperparameter_is_a_trainer_hyperparameter():
    assert set(Hyperparameters.model_fields) <= set(PPOHyperparameters.model_fields)


def test_metrics_port_can_be_turned_off():
    assert trainer_env({"agentId": "a"}, trainer_metrics_port=0)["TRAINER_METRICS_PORT"] == "0"
