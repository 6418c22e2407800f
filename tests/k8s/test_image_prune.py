"""`make images` removes the layer-cache images an earlier build left behind, and only those; and a
build that fills the disk says so.

Real buildah, with its storage in a temporary cache: a two-layer image is built, one of its inputs
changes and it is built again, exactly as `scripts/images/build.sh` builds (``--layers``, the log in
``build-<name>.log``). ``prune_stale`` (``scripts/images/lib.sh``) must then remove the first build's
layer images, keep every layer of the current build (a rebuild is then all cache hits) and keep the
named image. A build into a small tmpfs runs out of space: ``explain_full_disk`` must then say what
happened, where, and how to free space or move the cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.kube.fixtures import _unavailable

pytestmark = pytest.mark.k8s

REPO = Path(__file__).resolve().parents[2]


def _bash(script: str, cache: Path) -> str:
    env = {**os.environ, "TRAINYARD_CACHE": str(cache)}
    out = subprocess.run(["bash", "-c", f"set -euo pipefail; source {REPO}/scripts/images/lib.sh; {script}"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout + out.stderr


def _layer_images(cache: Path) -> set[str]:
    listed = _bash("buildah_ images -a --noheading --format '{{.ID}} {{.Name}}'", cache)
    return {line.split()[0][:11] for line in listed.splitlines() if line.endswith("<none>")}


def _logged_ids(log: Path) -> set[str]:
    return {line.split()[-1][:11] for line in log.read_text().splitlines() if line.startswith("--> ")}


@pytest.fixture
def cache(tmp_path):
    if shutil.which("buildah") is None or os.geteuid() != 0:
        _unavailable("buildah as root is needed (make node-deps installs it)")
    cache = tmp_path / "cache"
    (cache / "images").mkdir(parents=True)
    # buildah writes these whatever its --root says (as build.sh notes): removed again if it created them
    created = [d for d in (Path("/var/lib/containers"), Path("/run/containers")) if not d.exists()]
    yield cache
    _bash("buildah_ rmi -a -f >/dev/null 2>&1 || true", cache)
    subprocess.run(["umount", "-R", str(cache / "images" / "storage" / "overlay")], capture_output=True)
    for d in created:
        shutil.rmtree(d, ignore_errors=True)


def test_a_rebuild_after_an_input_changed_leaves_only_the_current_layers(cache, tmp_path):
    context = tmp_path / "context"
    context.mkdir()
    (context / "Containerfile").write_text("FROM scratch\nCOPY a.txt /a.txt\nCOPY b.txt /b.txt\n")
    (context / "b.txt").write_text("unchanged\n")
    log = cache / "images" / "build-tiny.log"
    build = (f"buildah_ bud --isolation chroot --layers -f {context}/Containerfile -t localhost/tiny:test "
             f"{context} > {log} 2>&1")

    (context / "a.txt").write_text("first\n")
    _bash(build, cache)
    first = _logged_ids(log)
    (context / "a.txt").write_text("second\n")
    _bash(build, cache)
    second = _logged_ids(log)
    assert first - second and first - second <= _layer_images(cache)  # the first build's layers linger

    report = _bash("prune_stale tiny", cache)
    assert "removed" in report
    left = _layer_images(cache)
    assert not left & (first - second)
    assert left <= second
    assert "localhost/tiny" in _bash("buildah_ images --noheading --format '{{.Name}}'", cache)

    _bash(build, cache)  # the current build's layer cache survived: every step is a cache hit
    cached = [line.split()[-1][:11] for line in log.read_text().splitlines() if line.startswith("--> Using cache ")]
    assert len(cached) == 2 and set(cached) == _logged_ids(log) == second  # both COPY steps, same layers


@pytest.fixture
def small_cache(cache):
    """`cache` on a 48 MiB tmpfs: a disk that a build can fill."""
    images = cache / "images"
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(images)], check=True)
    try:
        yield cache
    finally:
        _bash("buildah_ rmi -a -f >/dev/null 2>&1 || true", cache)
        subprocess.run(["umount", "-R", str(images / "storage" / "overlay")], capture_output=True)
        subprocess.run(["umount", "-l", str(images)], check=True)


def test_a_build_that_fills_the_disk_says_so_and_how_to_free_it(small_cache, tmp_path):
    context = tmp_path / "context"
    context.mkdir()
    (context / "Containerfile").write_text("FROM scratch\nCOPY big.bin /big.bin\n")
    (context / "big.bin").write_bytes(os.urandom(96 << 20))
    log = small_cache / "images" / "build-big.log"
    out = _bash(f"buildah_ bud --isolation chroot --layers -f {context}/Containerfile -t localhost/big:test "
                f"{context} > {log} 2>&1 && echo built || explain_full_disk {log}", small_cache)
    assert "built" not in out.split()
    assert "no space left on device" in log.read_text()
    assert "ran out of disk space under" in out and str(small_cache / "images") in out
    assert "TRAINYARD_CACHE" in out and "needs about 12 GB free" in out
