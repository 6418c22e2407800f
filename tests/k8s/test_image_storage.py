"""The trainer's torch layer (about 6 GB) is stored once where it is built and once on the node.

A copy of it in buildah's storage (a final stage that COPYs the venv from the deps stage) or in
containerd's content store (layer blobs kept beside their unpacked snapshots) doubles the disk a
warm `make test` needs, and a rebuild after a lock change on a 50 GB disk then runs out of space.
Measured on the images `make images` built and the session's node imported them into. And the
torch layer is not rebuilt for nothing: a comment in the base image script keeps the base's key.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.kube.images import REPO, cache_root

pytestmark = pytest.mark.k8s


def _bytes_under(path: Path) -> int:
    """Disk use of a folder (allocated blocks, hard links counted once), like `du -s`."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for p in path.rglob("*"):
        try:
            st = p.lstat()
        except FileNotFoundError:
            continue  # removed while walking
        if (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total


def test_the_build_storage_holds_the_trainer_layers_once(image_archives):
    trainer = image_archives["trainer"].stat().st_size
    storage = _bytes_under(cache_root() / "images" / "storage" / "overlay")
    # the trainer once, plus the API and operator images and the bases (well under 2 GB together);
    # a second copy of the venv would put it above 1.8x the trainer's archive
    assert storage < 1.5 * trainer, f"build storage {storage / 1e9:.1f} GB for a {trainer / 1e9:.1f} GB trainer image"


def test_the_node_keeps_unpacked_snapshots_and_not_the_layer_blobs(image_archives, kube_node):
    trainer = image_archives["trainer"].stat().st_size
    content = _bytes_under(kube_node.layout.containerd_root / "io.containerd.content.v1.content")
    snapshots = _bytes_under(kube_node.layout.containerd_root / "io.containerd.snapshotter.v1.overlayfs")
    assert snapshots > 0.8 * trainer, f"the trainer image is not unpacked on the node ({snapshots / 1e9:.1f} GB)"
    assert content < 0.1 * trainer, f"containerd keeps {content / 1e9:.1f} GB of layer blobs beside the snapshots"


def test_a_comment_in_the_base_image_script_rebuilds_nothing(image_archives, tmp_path):
    """The base images are keyed by the code that builds them, not by the script's text: a new key
    would rebuild every image's layers, the trainer's torch layer included."""
    scripts = tmp_path / "images"
    shutil.copytree(REPO / "scripts" / "images", scripts)
    script = scripts / "base-image.sh"
    text = script.read_text()
    script.write_text(text.replace("build_python_base() {\n", "build_python_base() {\n    # a new comment\n", 1)
                      .replace("# Builds the Python base image", "# Builds (reworded) the Python base image", 1))
    assert script.read_text() != text
    original = subprocess.run(["bash", str(REPO / "scripts" / "images" / "base-image.sh")],
                              capture_output=True, text=True, check=True)
    edited = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=True)
    assert edited.stdout == original.stdout and "PYTHON_IMAGE=localhost/trainyard/python-base:" in edited.stdout
    assert "debootstrap" not in edited.stderr
