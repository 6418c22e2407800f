"""`make cluster` (scripts/k8s/cluster.py): it stops every server it started on Ctrl-C (SIGINT),
SIGTERM to its process group and SIGHUP, and says which port is taken and how to pick another."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.kube.node import default_node_bin_dir, missing_node_parts
from tests.support.ports import free_port

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "k8s" / "cluster.py"


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (by /proc parent links), including ones in other sessions."""
    children: dict[int, list[int]] = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(p.name))
    out, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def cluster_env(tmp_path, control_plane, image_archives) -> dict[str, str]:
    """cluster.py's environment; the fixtures make sure the binaries and images exist."""
    missing = missing_node_parts(default_node_bin_dir())
    if missing:
        pytest.skip(f"the node needs {', '.join(missing)}")
    return {
        **os.environ,
        "TRAINYARD_DEV_DIR": str(tmp_path / "dev"),
        "TRAINYARD_API_PORT": str(free_port()),
        "TRAINYARD_OPERATOR_METRICS_PORT": str(free_port()),
        "TRAINYARD_CLUSTER_IMAGES": "operator",  # the image cache may be held by a session's node: import little
        "PYTHONPATH": str(REPO),
    }


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["ctrl-c", "sigterm", "sighup"])
def test_make_cluster_stops_every_server_it_started(cluster_env, sig):
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT)], env=cluster_env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("cluster ready"):
                break
        else:
            pytest.fail("cluster.py exited before it was ready:\n" + "".join(lines[-40:]))
        started = descendants(proc.pid)
        # etcd, apiserver, controller-manager, containerd, kubelet, kube-proxy, scheduler, FerretDB, API, operator
        assert len(started) >= 10, started
        if sig == signal.SIGTERM:
            os.killpg(proc.pid, sig)  # what a supervisor does: the whole process group
        else:
            proc.send_signal(sig)
        rest = proc.communicate(timeout=120)[0]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, "".join(lines[-20:]) + rest
    deadline = time.monotonic() + 10
    while any(alive(p) for p in started) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [p for p in started if alive(p)] == []


def test_make_cluster_names_a_taken_port_and_how_to_pick_another(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "TRAINYARD_API_PORT": str(port), "TRAINYARD_DEV_DIR": str(tmp_path),
               "PYTHONPATH": str(REPO)}
        out = subprocess.run([sys.executable, str(SCRIPT)], env=env, cwd=REPO, capture_output=True, text=True,
                             timeout=60)
    assert out.returncode == 1
    assert f"port {port} is taken" in out.stderr
    assert "TRAINYARD_API_PORT=" in out.stderr
