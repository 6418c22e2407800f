"""The images `make images` built (scripts/images/build.sh), as docker-archives for the node.

build.sh keeps the lines of the images it built last in $cache/images/archives/IMAGE_TAG.list;
callers read that list instead of running a (warm, but minutes long) build again.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
BUILD = REPO / "scripts" / "images" / "build.sh"
IMAGES = ("trainer", "api", "operator")


def cache_root() -> Path:
    if os.environ.get("TRAINYARD_CACHE"):
        return Path(os.environ["TRAINYARD_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "trainyard"


def built_images(tag: str = "dev") -> dict[str, Path]:
    """{name: archive} of the images last built with `tag` whose archive still exists."""
    listing = cache_root() / "images" / "archives" / f"{tag}.list"
    archives = {}
    for line in listing.read_text().splitlines() if listing.exists() else []:
        name, archive, *_ = line.split()
        if Path(archive).exists():
            archives[name] = Path(archive)
    return archives


def ensure_images(names: tuple[str, ...] = IMAGES, tag: str = "dev") -> dict[str, Path]:
    """The archives of `names`, building (scripts/images/build.sh) the ones that were never built."""
    archives = built_images(tag)
    missing = [n for n in names if n not in archives]
    if missing:
        subprocess.run(["bash", str(BUILD), *missing], check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "IMAGE_TAG": tag})
        archives = built_images(tag)
    return {n: archives[n] for n in names}
