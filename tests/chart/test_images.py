"""The Dockerfiles, statically (CI has no container engine): multi-stage on pinned base images,
every path they COPY exists and survives .dockerignore, each installs runstore/ plus its own package,
the final stage runs as a non-root user, and the entry point is the console script the tests use."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.chart.helm import REPO

pytestmark = [pytest.mark.chart, pytest.mark.unit]

IMAGES = {  # Dockerfile -> (its package folder, the console script it runs)
    "trainer-image/Dockerfile": ("trainer-image", "trainyard-train"),
    "api/Dockerfile": ("api", "trainyard-api"),
    "operator/Dockerfile": ("operator", "trainyard-operator"),
}


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        current += " " + stripped[:-1] if stripped.endswith("\\") else " " + stripped
        if not stripped.endswith("\\"):
            keyword, _, args = current.strip().partition(" ")
            out.append((keyword.upper(), args.strip()))
            current = ""
    return out


def stages(path: Path) -> list[Stage]:
    args: dict[str, str] = {}
    result: list[Stage] = []
    for keyword, rest in instructions(path.read_text()):
        if keyword == "ARG" and not result:
            name, _, default = rest.partition("=")
            args[name] = default.strip('"')
        elif keyword == "FROM":
            parts = [p for p in rest.split() if not p.startswith("--")]
            base = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m[1] or m[2], m[0]), parts[0])
            result.append(Stage(base, parts[2] if len(parts) > 2 and parts[1].upper() == "AS" else None))
        elif result:
            result[-1].instructions.append((keyword, rest))
    return result


def copy_sources(stage: Stage) -> list[str]:
    """Paths the stage COPYs from the build context (not from another stage)."""
    out = []
    for keyword, rest in stage.instructions:
        if keyword not in ("COPY", "ADD"):
            continue
        words = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
        flags = [w for w in words if w.startswith("--")]
        if any(f.startswith("--from") for f in flags):
            continue
        out += [w for w in words if not w.startswith("--")][:-1]
    return out


def exec_form(stage: Stage, keyword: str) -> list[str] | None:
    found = [rest for k, rest in stage.instructions if k == keyword]
    if not found:
        return None
    assert found[-1].startswith("["), f"{keyword} {found[-1]} should use the exec form"
    return json.loads(found[-1])


# -- .dockerignore (the repository root is every image's build context) ---------------------


def dockerignore_patterns() -> list[tuple[re.Pattern, bool]]:
    patterns = []
    for line in (REPO / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex, i = regex + "(.*/)?", i + 3
            elif pattern.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif pattern[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif pattern[i] == "?":
                regex, i = regex + "[^/]", i + 1
            else:
                regex, i = regex + re.escape(pattern[i]), i + 1
        patterns.append((re.compile(regex), negate))
    return patterns


def ignored(path: str, patterns) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    result = False
    for regex, negate in patterns:
        if any(regex.fullmatch(c) for c in candidates):
            result = not negate
    return result


def test_dockerignore_sends_the_sources_and_not_the_local_state():
    patterns = dockerignore_patterns()
    for kept in ("runstore/pyproject.toml", "api/src/trainyard_api/main.py", "web/package-lock.json",
                 "web/src/main.tsx", "requirements-dev.lock"):
        assert not ignored(kept, patterns), kept
    for dropped in (".venv/bin/python", ".git/HEAD", "web/node_modules/react/index.js", "web/dist/index.html",
                    "api/src/trainyard_api/__pycache__/main.cpython-311.pyc", "tests/conftest.py", ".dev/x"):
        assert ignored(dropped, patterns), dropped


# -- the Dockerfiles --------------------------------------------------------------------------


@pytest.fixture(params=sorted(IMAGES), ids=lambda p: p.split("/")[0])
def dockerfile(request) -> tuple[Path, str, str]:
    path = REPO / request.param
    package, script = IMAGES[request.param]
    assert path.is_file(), f"{request.param} is missing"
    return path, package, script


def test_multi_stage_on_pinned_base_images_without_registry_hosts(dockerfile):
    path, _, _ = dockerfile
    all_stages = stages(path)
    assert len(all_stages) >= 2, f"{path}: build in one stage, copy the result into a slim final stage"
    names = {s.name for s in all_stages if s.name}
    for stage in all_stages:
        if stage.base in names:
            continue  # FROM an earlier stage
        ref = stage.base
        assert "$" not in ref, f"{path}: base image {ref} comes from an ARG without a default"
        assert "@sha256:" in ref or re.search(r":[^/]*\d+\.\d+", ref), f"{path}: {ref} is not pinned to a version"
        assert not ref.endswith(":latest")
        first = ref.split("/")[0]
        assert "/" not in ref or not ("." in first or ":" in first), f"{path}: {ref} names a registry host"


def test_every_copied_path_exists_and_is_sent_to_the_builder(dockerfile):
    path, _, _ = dockerfile
    patterns = dockerignore_patterns()
    sources = [src for stage in stages(path) for src in copy_sources(stage)]
    assert sources
    for src in sources:
        assert (REPO / src).exists(), f"{path} copies {src}, which is not in the repository"
        probe = f"{src.rstrip('/')}/pyproject.toml" if (REPO / src / "pyproject.toml").exists() else src
        assert not ignored(probe, patterns), f"{path} copies {src}, but .dockerignore leaves it out"


def test_installs_runstore_and_its_own_package_only(dockerfile):
    path, package, _ = dockerfile
    copied = {src.rstrip("/").split("/")[0] for stage in stages(path) for src in copy_sources(stage)}
    assert {"runstore", package} <= copied, f"{path} copies {copied}"
    others = {"runstore", "trainer-image", "api", "operator"} - {"runstore", package}
    assert not copied & others, f"{path} copies another deployable: {copied & others}"


def test_final_stage_runs_the_console_script_as_a_non_root_user(dockerfile):
    path, package, script = dockerfile
    final = stages(path)[-1]
    users = [rest for keyword, rest in final.instructions if keyword == "USER"]
    assert users, f"{path}: the final stage sets no USER (it would run as root)"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"{path} runs as {users[-1]}"
    command = exec_form(final, "ENTRYPOINT") or exec_form(final, "CMD")
    assert command and command[0] == script, f"{path}: runs {command}, expected {script}"
    scripts = tomllib.loads((REPO / package / "pyproject.toml").read_text())["project"]["scripts"]
    assert script in scripts, f"{script} is not a console script of {package}/pyproject.toml"


def test_api_image_builds_the_web_ui_in_a_node_stage_and_never_installs_torch():
    path = REPO / "api" / "Dockerfile"
    all_stages = stages(path)
    (web,) = [s for s in all_stages if s.base.startswith("node:")]
    assert any(k == "RUN" and "npm ci" in rest for k, rest in web.instructions)
    assert any(k == "RUN" and "npm run build" in rest for k, rest in web.instructions)
    final = all_stages[-1]
    copies_dist = [rest for k, rest in final.instructions if k == "COPY" and f"--from={web.name}" in rest]
    assert copies_dist and "dist" in copies_dist[0]
    env = " ".join(rest for k, rest in final.instructions if k == "ENV")
    assert "TRAINYARD_API_WEB_DIST=" in env
    deps = tomllib.loads((REPO / "api" / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not [d for d in deps if d.startswith("torch")]


def test_trainer_image_is_gpu_capable_with_a_cpu_fallback():
    """torch comes from the lock's pins (CUDA wheels on Linux); `--device auto` falls back to the CPU."""
    text = (REPO / "trainer-image" / "Dockerfile").read_text()
    assert "--constraint constraints.txt" in text and "requirements-dev.lock" in text
    lock = (REPO / "requirements-dev.lock").read_text()
    assert re.search(r"^torch==", lock, re.M) and re.search(r"^nvidia-cuda-runtime", lock, re.M)
    from trainyard_trainer.settings import TrainerSettings

    assert TrainerSettings.model_fields["device"].default == "auto"
