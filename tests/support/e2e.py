"""Running the web UI's playwright-core scripts (``web/e2e/*.mjs``) in real Chromium from pytest.

The scripts read where the API is, a JSON fixture written by the test and where to put screenshots
from ``TRAINYARD_E2E_*`` variables; a script exits non-zero with its reason on the first failed check.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("TRAINYARD_E2E_CHROMIUM", "/usr/bin/chromium")


def require_browser() -> None:
    """Fail (not skip) when Chromium or the built UI is missing, saying which make target fixes it."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run 'make chromium' (Debian's chromium package)")
    if not (REPO / "web" / "dist" / "index.html").exists():
        pytest.fail("web/dist is not built: run 'make web'")


def e2e_env(base_url: str, fixture: Path, shots: Path) -> dict[str, str]:
    return dict(os.environ, TRAINYARD_E2E_BASE_URL=base_url, TRAINYARD_E2E_FIXTURE=str(fixture),
                TRAINYARD_E2E_SCREENSHOT_DIR=str(shots), TRAINYARD_E2E_CHROMIUM=CHROMIUM)


def e2e_command(script: str, *args: str) -> list[str]:
    return ["node", f"e2e/{script}", *args]


def run_e2e(script: str, *, base_url: str, fixture: Path, shots: Path, timeout: float,
            screenshots: tuple[str, ...] = (), artifacts: Path | None = None) -> None:
    """Run ``web/e2e/<script>`` to the end; then each named screenshot must hold a real picture
    (more than 10 kB), and is copied to ``artifacts`` when given."""
    out = subprocess.run(e2e_command(script), cwd=REPO / "web", env=e2e_env(base_url, fixture, shots),
                         capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    for name in screenshots:
        assert (shots / name).stat().st_size > 10_000, f"{name} looks empty"
        if artifacts is not None:
            shutil.copy(shots / name, artifacts / name)
