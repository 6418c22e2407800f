"""helm for the chart tests: where the binary is (built by `make helm`, or by scripts/k8s/build.sh,
into the same cache path) and `helm template` rendered into plain dicts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "trainyard"
CI_VALUES = sorted((CHART / "ci").glob("*.yaml"))
BUILD_SCRIPT = REPO / "scripts" / "k8s" / "build.sh"


def helm_binary() -> Path:
    """The cached helm; skips the test without it (fails under CI, which provisions it)."""
    out = subprocess.run(["bash", str(BUILD_SCRIPT), "--helm-dir"], check=True, capture_output=True, text=True)
    helm = Path(out.stdout.strip()) / "helm"
    if not os.access(helm, os.X_OK):
        message = f"helm missing at {helm}: run `make helm`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return helm


def run_helm(helm: Path, *args: str, timeout: float = 120) -> str:
    proc = subprocess.run([str(helm), *args], capture_output=True, text=True, timeout=timeout)
    if proc.returncode:
        raise AssertionError(f"helm {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def template(helm: Path, *args: str, release: str = "trainyard", namespace: str = "training") -> list[dict]:
    """`helm template` (CRDs included) as a list of objects, empty documents dropped."""
    out = run_helm(helm, "template", release, str(CHART), "--namespace", namespace, "--include-crds", *args)
    return [doc for doc in yaml.safe_load_all(out) if doc]


def values_args(values_file: Path | None) -> list[str]:
    return ["--values", str(values_file)] if values_file else []


def find(objects: list[dict], kind: str, name: str | None = None) -> dict:
    matches = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {[o['metadata']['name'] for o in matches]}"
    return matches[0]


def env_of(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}
