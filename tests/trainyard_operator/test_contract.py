"""Contracts the operator shares with others, checked without a cluster.

- operator -> trainer: every ``TRAINER_*`` variable the Job builder sets is a field of the trainer's
  ``TrainerSettings`` and parses with it into the run's values (this test may import both
  deployables; the operator itself never imports the trainer).
- CRD <-> spec.py: the CRD's openAPIV3Schema and the pydantic spec model agree field by field
  (names, types, enums, defaults, bounds, patterns, required), and every CRD field is described.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from trainyard_operator import constants
from trainyard_operator.builders import build_job
from trainyard_operator.settings import OperatorSettings
from trainyard_operator.spec import Hyperparameters, TrainingRun, TrainingRunSpec
from trainyard_runstore.settings import MongoSettings
from trainyard_trainer.settings import PPOHyperparameters, TrainerSettings

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
CRD_PATH = REPO / "charts" / "trainyard" / "crds" / "trainingruns.trainyard.dev.yaml"
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


def test_every_spec_hyperparameter_is_a_trainer_hyperparameter():
    assert set(Hyperparameters.model_fields) <= set(PPOHyperparameters.model_fields)


def test_metrics_port_can_be_turned_off():
    assert trainer_env({"agentId": "a"}, trainer_metrics_port=0)["TRAINER_METRICS_PORT"] == "0"


# ------------------------------------------------------------------ CRD <-> spec.py


def crd() -> dict:
    return yaml.safe_load(CRD_PATH.read_text())


def crd_version() -> dict:
    (version,) = crd()["spec"]["versions"]
    return version


def test_crd_identity_matches_constants():
    doc = crd()
    names = doc["spec"]["names"]
    assert doc["metadata"]["name"] == constants.CRD_NAME
    assert (doc["spec"]["group"], crd_version()["name"]) == (constants.GROUP, constants.VERSION)
    assert (names["kind"], names["plural"], names["singular"]) == (constants.KIND, constants.PLURAL,
                                                                   constants.SINGULAR)
    assert names["shortNames"] == [constants.SHORT_NAME] and names["categories"] == [constants.CATEGORY]
    assert doc["spec"]["scope"] == "Namespaced" and crd_version()["subresources"] == {"status": {}}


def test_printer_columns():
    columns = {c["name"]: c["jsonPath"] for c in crd_version()["additionalPrinterColumns"] if not c.get("priority")}
    assert columns == {"Agent": ".spec.agentId", "Status": ".status.phase", "Episodes": ".status.progress.episodes",
                       "WinRate": ".status.progress.rollingWinRate", "Age": ".metadata.creationTimestamp"}


def _resolve(schema: dict, defs: dict) -> dict:
    if "$ref" in schema:
        return _resolve(defs[schema["$ref"].split("/")[-1]], defs)
    return schema


def from_pydantic(schema: dict, defs: dict) -> dict:
    """pydantic's JSON schema in the canonical form below (null branches and titles dropped)."""
    schema = _resolve(schema, defs)
    out: dict[str, Any] = {}
    if "anyOf" in schema:
        branches = [_resolve(b, defs) for b in schema["anyOf"] if b.get("type") != "null"]
        if {b.get("type") for b in branches} == {"integer", "string"}:
            out = {"type": "int-or-string"}
            out.update({k: v for b in branches for k, v in b.items() if k == "pattern"})
        else:
            (branch,) = branches
            out = from_pydantic(branch, defs)
        if schema.get("default") is not None:
            out["default"] = schema["default"]
        return out
    kind = schema.get("type")
    out["type"] = kind
    if kind == "object" and "properties" in schema:
        out["properties"] = {k: from_pydantic(v, defs) for k, v in schema["properties"].items()}
        out["required"] = sorted(schema.get("required", []))
    elif kind == "object":
        out["additionalProperties"] = from_pydantic(schema["additionalProperties"], defs)
    elif kind == "array":
        out["items"] = from_pydantic(schema["items"], defs)
    if "const" in schema:
        out["enum"] = [schema["const"]]
    for key in ("enum", "minimum", "maximum", "exclusiveMinimum", "pattern", "minLength", "maxLength",
                "maxItems"):
        if key in schema:
            out[key] = schema[key]
    if schema.get("default") is not None and kind != "object":
        out["default"] = schema["default"]
    return out


def from_crd(schema: dict) -> dict:
    """The CRD's structural schema in the same canonical form (formats, CEL and descriptions dropped)."""
    if schema.get("x-kubernetes-int-or-string"):
        out: dict[str, Any] = {"type": "int-or-string"}
    else:
        out = {"type": schema["type"]}
    if "properties" in schema:
        out["properties"] = {k: from_crd(v) for k, v in schema["properties"].items()}
        out["required"] = sorted(schema.get("required", []))
    if "additionalProperties" in schema:
        out["additionalProperties"] = from_crd(schema["additionalProperties"])
    if "items" in schema:
        out["items"] = from_crd(schema["items"])
    for key in ("enum", "minimum", "maximum", "pattern", "minLength", "maxLength", "maxItems"):
        if key in schema:
            out[key] = schema[key]
    if schema.get("exclusiveMinimum"):
        out["exclusiveMinimum"] = out.pop("minimum")
    if "default" in schema and schema["default"] != {}:  # {}: "create the object so its defaults apply"
        out["default"] = schema["default"]
    return out


def _diff(a: Any, b: Any, path: str = "spec") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key not in a:
                out.append(f"{path}.{key}: only in the CRD ({b[key]!r})")
            elif key not in b:
                out.append(f"{path}.{key}: only in spec.py ({a[key]!r})")
            else:
                out += _diff(a[key], b[key], f"{path}.{key}")
        return out
    return [] if a == b else [f"{path}: spec.py {a!r} != CRD {b!r}"]


def test_crd_schema_matches_the_spec_model_field_by_field():
    model = TrainingRunSpec.model_json_schema(by_alias=True)
    ours = from_pydantic(model, model.get("$defs", {}))
    theirs = from_crd(crd_version()["schema"]["openAPIV3Schema"]["properties"]["spec"])
    assert _diff(ours, theirs) == []


def _undescribed(schema: dict, path: str) -> list[str]:
    missing = [] if schema.get("description") else [path]
    for key, sub in (schema.get("properties") or {}).items():
        if path == "" and key == "metadata":
            continue  # the API server forbids describing metadata
        missing += _undescribed(sub, f"{path}.{key}")
    if "items" in schema:
        missing += _undescribed(schema["items"], f"{path}[]")
    return missing


def test_every_crd_field_is_described():
    assert _undescribed(crd_version()["schema"]["openAPIV3Schema"], "") == []


def test_status_phases_match_the_phase_enum():
    from trainyard_operator.phases import Phase

    status = crd_version()["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
    assert status["phase"]["enum"] == [p.value for p in Phase]


def test_samples_are_valid_specs():
    for path in sorted((REPO / "examples").glob("trainingrun-*.yaml")):
        doc = yaml.safe_load(path.read_text())
        assert (doc["apiVersion"], doc["kind"]) == (constants.API_VERSION, constants.KIND), path
        TrainingRunSpec.model_validate(doc["spec"])
    full = yaml.safe_load((REPO / "examples" / "trainingrun-full.yaml").read_text())
    assert full["spec"]["resources"]["gpu"] >= 1 and full["spec"]["tolerations"] and full["spec"]["nodeSelector"]
    assert json.dumps(full)  # plain data
