"""Container images: each image's size and its build time warm (nothing changed), warm after a
source change (the third-party layers reused), and, with ``--cold``, from an empty cache.

Runs ``scripts/images/build.sh`` (what ``make images`` runs) and reads the size and seconds it
prints. The source change is a probe file added to each image's own package folder and removed
afterwards (the images are then rebuilt from the unchanged tree, from the layer cache).
``--cold`` builds into a fresh temporary cache (the debootstrap base included, unless docker or
podman builds); it downloads everything and takes about an hour on 2 cores.

    python bench/image_bench.py [--cold]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.table import print_table  # noqa: E402

BUILD = REPO / "scripts" / "images" / "build.sh"
IMAGES = {"trainer": "trainer-image/src", "api": "api/src", "operator": "operator/src"}


def build(names: list[str], env: dict[str, str] | None = None) -> dict[str, tuple[int, int]]:
    """{image: (size in bytes, seconds)} from build.sh's lines (NAME ARCHIVE SIZE SECONDS)."""
    out = subprocess.run(["bash", str(BUILD), *names], cwd=REPO, env=env or dict(os.environ),
                         capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"build.sh {' '.join(names)} failed:\n{out.stderr[-3000:]}")
    result = {}
    for line in out.stdout.splitlines():
        name, _archive, size, seconds = line.split()
        result[name] = (int(size), int(seconds))
    return result


def with_probe(name: str) -> dict[str, tuple[int, int]]:
    """Build `name` with one new file in its sources, then again without it."""
    probe = REPO / IMAGES[name] / f"bench_probe_{uuid.uuid4().hex[:8]}.txt"
    probe.write_text("a source change for bench/image_bench.py\n")
    try:
        changed = build([name])
    finally:
        probe.unlink()
    build([name])  # back to the tree as committed (a layer-cache hit)
    return changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="also build from an empty cache (about an hour)")
    args = parser.parse_args()
    names = list(IMAGES)
    build(names)  # make sure the cache holds the current tree
    unchanged = build(names)
    changed = {}
    for name in names:
        print(f">> {name}: rebuilding after a source change", flush=True)
        changed.update(with_probe(name))
    cold: dict[str, tuple[int, int]] = {}
    if args.cold:
        with tempfile.TemporaryDirectory(prefix="trainyard-cold-images-") as tmp:
            print(f">> cold build into {tmp}", flush=True)
            cold = build(names, {**os.environ, "TRAINYARD_CACHE": tmp})
    rows = []
    for name in names:
        size, _ = unchanged[name]
        rows.append([name, f"{size / 1e6:,.0f} MB", f"{cold[name][1]} s" if cold else "(run with --cold)",
                     f"{changed[name][1]} s", f"{unchanged[name][1]} s"])
    print_table(f"Images (uncompressed docker-archive size; {os.cpu_count()} CPUs, builder from build.sh)",
                ["image", "size", "cold build", "warm, sources changed", "warm, nothing changed"], rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
