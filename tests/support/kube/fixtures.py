"""pytest fixtures for the k8s tier: one real control plane, one real node (containerd + kubelet,
node.py) with the project's images imported, and a fresh namespace per test. Imported by
tests/conftest.py (`from tests.support.kube.fixtures import *`).

Without the binaries (`make k8s-bins node-bins`), root or an image builder the tests are skipped,
unless TRAINYARD_REQUIRE_K8S is set (CI sets it): then they fail.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import kubernetes
import pytest

from .controlplane import ControlPlane, default_bin_dir, missing_binaries
from .images import IMAGES, ensure_images
from .node import Node, default_node_bin_dir, missing_node_parts
from .wait import wait_for

REPO = Path(__file__).resolve().parents[3]

__all__ = ["control_plane", "image_archives", "k8s_namespace", "kube_api", "kube_node"]

REQUIRE_ENV = "TRAINYARD_REQUIRE_K8S"


def _unavailable(message: str) -> None:
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{message} ({REQUIRE_ENV} is set)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    bin_dir = default_bin_dir()
    missing = missing_binaries(bin_dir)
    if missing:
        _unavailable(f"Kubernetes binaries missing in {bin_dir} ({', '.join(missing)}): run `make k8s-bins`")
    # Under pytest's tmp dir, so the component logs of a failed run are kept for reading.
    with ControlPlane(bin_dir, tmp_path_factory.mktemp("control-plane"), with_node=True) as cp:
        yield cp


IMAGE_TAG = os.environ.get("IMAGE_TAG", "dev")


@pytest.fixture(scope="session")
def image_archives() -> dict[str, Path]:
    """The project's images as docker-archives for the node to import: the ones `make images` built
    last (`make test` builds them first); built here when there are none."""
    try:
        return ensure_images(IMAGES, IMAGE_TAG)
    except subprocess.CalledProcessError as e:
        _unavailable(f"`make images` failed ({e}); run it to see why")


@pytest.fixture(scope="session")
def kube_node(control_plane: ControlPlane, image_archives: dict[str, Path]) -> Iterator[Node]:
    """The session's real node, with the trainer, API and operator images (IMAGE_TAG) imported.
    Its teardown fails the session if the machine's sysctls, iptables, mounts, cgroups, links or
    fixed paths changed."""
    missing = missing_node_parts(default_node_bin_dir())
    if missing:
        _unavailable(f"the node needs {', '.join(missing)}: run `make node-bins node-deps` as root")
    node = Node(control_plane)
    node.start()
    try:
        node.import_images(list(image_archives.values()))
        yield node
    finally:
        node.stop()
    assert not node.host_changes, f"the node changed the machine: {node.host_changes}"


@pytest.fixture(scope="session")
def kube_api(control_plane: ControlPlane) -> Iterator[kubernetes.client.ApiClient]:
    """An admin ApiClient for the session's control plane."""
    with control_plane.api_client() as api:
        yield api


@pytest.fixture
def k8s_namespace(kube_api: kubernetes.client.ApiClient, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new namespace (with its `default` ServiceAccount ready), deleted after the test."""
    core = kubernetes.client.CoreV1Api(kube_api)
    stem = request.node.name.lower().replace("_", "-")[:40].strip("-")
    name = f"{stem}-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": name}})

    def has_default_sa() -> bool:
        names = [sa.metadata.name for sa in core.list_namespaced_service_account(name).items]
        return "default" in names

    wait_for(has_default_sa, timeout=30, what=f"ServiceAccount default in {name}")
    yield name
    core.delete_namespace(name, propagation_policy="Background")
