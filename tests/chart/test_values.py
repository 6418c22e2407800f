"""values.yaml documented key by key, values.schema.json rejecting wrong values with the path of
the offending key, and NOTES.txt telling the user how to open the UI and start the sample run."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from tests.chart.helm import CHART, template

pytestmark = [pytest.mark.chart]


# ------------------------------------------------------------------ values.yaml and values.schema.json


KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.-]+):(?P<rest>.*)$")


def test_every_value_is_documented():
    """Every key has a `# --` comment, or sits inside a documented mapping (helm-docs' convention)."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    keys = []  # (indent, key, documented, is_mapping)
    for i, line in enumerate(lines):
        m = KEY.match(line)
        if not m or line.lstrip().startswith("#"):
            continue
        j, documented = i - 1, False
        while j >= 0 and lines[j].strip().startswith("#"):
            documented |= lines[j].strip().startswith("# --")
            j -= 1
        keys.append((len(m["indent"]), m["key"], documented, m["rest"].strip() == ""))
    undocumented, stack = [], []  # stack: (indent, key, documented) of the enclosing keys
    for n, (indent, key, documented, mapping) in enumerate(keys):
        while stack and stack[-1][0] >= indent:
            stack.pop()
        has_children = n + 1 < len(keys) and keys[n + 1][0] > indent
        if not (documented or any(d for _, _, d in stack) or (mapping and has_children)):
            undocumented.append(".".join([*(k for _, k, _ in stack), key]))
        stack.append((indent, key, documented))
    assert not undocumented, f"values.yaml keys without a `# --` comment: {undocumented}"


@pytest.mark.parametrize(("setting", "message"), [
    ("api.replicas=two", "at '/api/replicas': got string, want integer"),
    ("mongodb.enabled=maybe", "at '/mongodb/enabled': got string, want boolean"),
    ("mongodb.enable=false", "at '/mongodb': additional properties 'enable' not allowed"),
    ("operator.metricsPort=70000", "at '/operator/metricsPort'"),
    ("trainer.resources.memory=lots", "at '/trainer/resources/memory'"),
    ("checkpoints.accessModes[0]=ReadWriteSometimes", "at '/checkpoints/accessModes/0'"),
    ("mongodb.external.uri=postgres://x", "at '/mongodb/external/uri'"),
])
def test_schema_rejects_wrong_values_with_the_path(helm, setting, message):
    with pytest.raises(AssertionError) as failed:
        template(helm, "--set", setting)
    assert message in str(failed.value)


def test_schema_describes_every_top_level_value():
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert set(values) <= set(schema["properties"])
    assert schema["additionalProperties"] is False


# ------------------------------------------------------------------ NOTES.txt


def test_notes_tell_how_to_open_the_ui_and_apply_the_sample():
    notes = (CHART / "templates" / "NOTES.txt").read_text()
    assert "port-forward service/" in notes and "http://127.0.0.1:8000/" in notes
    assert "apply -f examples/trainingrun-smoke.yaml" in notes
