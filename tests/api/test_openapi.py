"""The committed OpenAPI document is what the API serves (the web UI's types are generated from it)."""

import json
from pathlib import Path

import pytest
from trainyard_api.openapi import document

pytestmark = pytest.mark.unit

COMMITTED = Path(__file__).resolve().parents[2] / "api" / "openapi.json"


def test_committed_openapi_is_current():
    assert json.loads(COMMITTED.read_text()) == json.loads(json.dumps(document())), (
        "api/openapi.json is stale: run 'make openapi' and commit the result"
    )


def test_spec_endpoints_are_documented():
    paths = document()["paths"]
    for path in ("/api/training-runs", "/api/training-runs/{run_id}", "/api/training-runs/agents/list",
                 "/api/training-runs/{run_id}/stream", "/api/training-runs/{run_id}/export", "/healthz", "/readyz",
                 "/api/training-runs/{run_id}/rollouts", "/api/training-runs/{run_id}/games/{n}", "/api/benchmarks"):
        assert path in paths
