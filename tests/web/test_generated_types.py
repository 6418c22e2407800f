"""The web UI's API types are generated from api/openapi.json; a stale copy fails here."""

import json
import shlex
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.web

WEB = Path(__file__).resolve().parents[2] / "web"


def test_generated_types_match_the_openapi_document(tmp_path):
    out = tmp_path / "schema.gen.ts"
    # the very command `make openapi` runs (package.json's gen:api), writing elsewhere
    command = shlex.split(json.loads((WEB / "package.json").read_text())["scripts"]["gen:api"])
    command[command.index("-o") + 1] = str(out)
    subprocess.run(["node_modules/.bin/" + command[0], *command[1:]], cwd=WEB, check=True, capture_output=True,
                   timeout=120)
    committed = (WEB / "src" / "api" / "schema.gen.ts").read_text()
    assert out.read_text() == committed, "web/src/api/schema.gen.ts is stale: run 'make openapi' and commit it"


def test_vitest_suite_passes():
    out = subprocess.run(["npx", "vitest", "run", "--reporter=dot"], cwd=WEB, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
