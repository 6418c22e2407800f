"""The Grafana dashboard, statically: the panels the issue asks for, every per-run series linking to
the run's page in the web UI, the ConfigMap the Grafana sidecar loads, and every metric a panel
queries defined by the trainer's, the API's or the operator's metrics module. (Whether each query
returns data from a real run is test_observability.py.)"""

from __future__ import annotations

import json

import pytest

from tests.chart import dashboard
from tests.chart.helm import CHART, find, template

pytestmark = [pytest.mark.chart]

RUN_LINK = "${ui_url}/training/${__field.labels.run_id}"
REQUIRED_PANELS = ["Episode reward", "Rolling win rate", "Episodes per second", "Environment steps per second",
                   "PPO losses", "Runs by phase", "Failures by reason"]


def defined_sample_names() -> set[str]:
    """Sample names the three metrics modules can expose (counters with _total, histograms' series)."""
    from prometheus_client import CollectorRegistry
    from trainyard_api.observability import REGISTRY as api_registry
    from trainyard_operator.metrics import OperatorMetrics
    from trainyard_trainer.metrics import TrainerMetrics

    registries = [api_registry, OperatorMetrics(CollectorRegistry()).registry,
                  TrainerMetrics("run", "agent", CollectorRegistry()).registry]
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "summary": ["_sum", "_count"]}
    names = set()
    for registry in registries:
        for family in registry.collect():
            names |= {family.name + s for s in suffixes.get(family.type, [""])}
    return names


@pytest.mark.unit
def test_the_issue_s_panels_exist():
    titles = [p["title"] for p in dashboard.panels()]
    assert all(t in titles for t in REQUIRED_PANELS), set(REQUIRED_PANELS) - set(titles)
    assert len(titles) == len(set(titles)), "panel titles are unique (test ids use them)"


@pytest.mark.unit
def test_every_panel_query_names_a_metric_one_of_the_modules_defines():
    defined = defined_sample_names()
    for query in dashboard.queries() + dashboard.variable_queries():
        assert query.metrics, f"{query.id}: no trainyard_* metric in {query.expr!r}"
        assert query.metrics <= defined, f"{query.id}: {query.metrics - defined} defined nowhere"


@pytest.mark.unit
def test_every_per_run_series_links_to_the_run_in_the_web_ui():
    for panel in dashboard.panels():
        exprs = [t["expr"] for t in panel["targets"]]
        per_run = any("run_id" in e and "trainyard_trainer_" in e for e in exprs)
        if not per_run:
            continue
        if panel["type"] == "table":  # one row per run: the run_id cell links
            (override,) = [o for o in panel["fieldConfig"]["overrides"] if o["matcher"]["options"] == "run_id"]
            (links,) = [p["value"] for p in override["properties"] if p["id"] == "links"]
            assert links[0]["url"] == "${ui_url}/training/${__value.text}", panel["title"]
            continue
        assert [link["url"] for link in panel["fieldConfig"]["defaults"]["links"]] == [RUN_LINK], panel["title"]
        legends = [t["legendFormat"] for t in panel["targets"]]
        assert all("{{run_id}}" in legend for legend in legends), panel["title"]


@pytest.mark.unit
def test_variables_datasource_ui_url_and_run():
    board = dashboard.load()
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    assert variables["ui_url"]["type"] == "textbox"
    assert variables["run_id"]["includeAll"] and variables["run_id"]["allValue"] == ".*"
    for panel in dashboard.panels():
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"]), panel["title"]


@pytest.mark.unit
def test_queries_become_plain_promql():
    for query in dashboard.queries():
        assert "$" not in query.promql()


@pytest.mark.parametrize(("args", "ui_url", "namespace"), [
    ([], "http://127.0.0.1:8000", "training"),
    (["--values", str(CHART / "ci" / "monitors-values.yaml")], "https://trainyard.example.com", "monitoring"),
    (["--set", "grafana.dashboard.uiUrl=https://ui.example.org/"], "https://ui.example.org", "training"),
])
def test_dashboard_configmap_for_the_grafana_sidecar(helm, args, ui_url, namespace):
    configmap = find(template(helm, *args), "ConfigMap", "trainyard-dashboard")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert configmap["metadata"]["namespace"] == namespace
    (text,) = configmap["data"].values()
    shipped = json.loads(text)
    variables = {v["name"]: v for v in shipped["templating"]["list"]}
    assert variables["ui_url"]["query"] == ui_url and variables["ui_url"]["current"]["value"] == ui_url
    original = dashboard.load()
    shipped["templating"] = original["templating"] = None
    assert shipped == original  # otherwise the file as it is


def test_dashboard_can_be_left_out(helm):
    objects = template(helm, "--set", "grafana.dashboard.enabled=false")
    assert not [o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-dashboard")]
