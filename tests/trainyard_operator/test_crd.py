"""The TrainingRun CRD file is what crd.py generates from the spec and status models (``make crd``).

The API server itself checks the CRD's rules in test_operator_k8s.py; here, without a cluster: the
file has not drifted from the models, every field is described, the printer columns point at real
fields, and the CEL rules and samples the chart ships are still there and valid.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest
import yaml
from trainyard_operator import constants
from trainyard_operator.crd import build_crd, render
from trainyard_operator.spec import TrainingRunSpec
from trainyard_operator.status import Phase

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
CRD_PATH = REPO / "charts" / "trainyard" / "crds" / "trainingruns.trainyard.dev.yaml"


def version() -> dict:
    (v,) = build_crd()["spec"]["versions"]
    return v


def test_the_crd_file_is_generated_from_the_models():
    ours, theirs = render(), CRD_PATH.read_text()
    diff = "".join(difflib.unified_diff(theirs.splitlines(True), ours.splitlines(True), "crd file", "generated"))
    assert ours == theirs, f"the CRD file is stale or hand-edited: run `make crd`\n{diff[:4000]}"


def test_crd_identity_matches_constants():
    doc = build_crd()
    names = doc["spec"]["names"]
    assert doc["metadata"]["name"] == constants.CRD_NAME
    assert (doc["spec"]["group"], version()["name"]) == (constants.GROUP, constants.VERSION)
    assert (names["kind"], names["plural"], names["singular"]) == (constants.KIND, constants.PLURAL,
                                                                   constants.SINGULAR)
    assert doc["spec"]["scope"] == "Namespaced" and version()["subresources"] == {"status": {}}


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
    assert _undescribed(version()["schema"]["openAPIV3Schema"], "") == []


def _at(schema: dict, json_path: str) -> dict | None:
    for part in json_path.strip(".").split("."):
        schema = (schema.get("properties") or {}).get(part)
        if schema is None:
            return None
    return schema


def test_printer_columns_name_fields_of_the_models():
    root = version()["schema"]["openAPIV3Schema"]
    columns = {c["name"]: c for c in version()["additionalPrinterColumns"]}
    default = [n for n, c in columns.items() if not c.get("priority")]
    assert default == ["Agent", "Status", "Episodes", "WinRate", "Age"]
    for name, column in columns.items():
        if column["jsonPath"].startswith(".metadata."):
            continue
        field = _at(root, column["jsonPath"])
        assert field is not None, f"printer column {name}: {column['jsonPath']} is no field"
        assert field["type"] == column["type"], name


def test_structural_schema_keeps_validation_and_cel():
    spec = version()["schema"]["openAPIV3Schema"]["properties"]["spec"]
    props = spec["properties"]
    assert spec["required"] == ["agentId"] and "additionalProperties" not in spec
    assert props["agentId"]["x-kubernetes-validations"] == [{"rule": "self == oldSelf",
                                                            "message": "agentId is immutable"}]
    assert props["hyperparameters"]["x-kubernetes-validations"][0]["fieldPath"] == ".batchSize"
    rate = props["hyperparameters"]["properties"]["learningRate"]
    assert (rate["type"], rate["minimum"], rate["exclusiveMinimum"], rate["maximum"]) == ("number", 0, True, 1)
    cpu = props["resources"]["properties"]["cpu"]
    assert cpu["x-kubernetes-int-or-string"] is True and "pattern" in cpu and "type" not in cpu
    assert props["resources"]["default"] == {} and props["totalTimesteps"]["format"] == "int64"
    assert props["algorithm"]["enum"] == ["MaskablePPO"]
    conditions = version()["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]["conditions"]
    assert conditions["x-kubernetes-list-map-keys"] == ["type"] and conditions["items"]["required"] == ["type",
                                                                                                         "status"]


def test_status_phases_match_the_phase_enum():
    status = version()["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
    assert status["phase"]["enum"] == [p.value for p in Phase]


def test_samples_are_valid_specs():
    for path in sorted((REPO / "examples").glob("trainingrun-*.yaml")):
        doc = yaml.safe_load(path.read_text())
        assert (doc["apiVersion"], doc["kind"]) == (constants.API_VERSION, constants.KIND), path
        TrainingRunSpec.model_validate(doc["spec"])
    full = yaml.safe_load((REPO / "examples" / "trainingrun-full.yaml").read_text())
    assert full["spec"]["resources"]["gpu"] >= 1 and full["spec"]["tolerations"] and full["spec"]["nodeSelector"]
    assert json.dumps(full)  # plain data
