"""Fixtures of the chart tests: helm, and the k8s tier's control plane (tests/support/kube)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chart.helm import helm_binary


@pytest.fixture(scope="session")
def helm() -> Path:
    return helm_binary()
