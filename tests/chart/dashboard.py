"""The Grafana dashboard (charts/trainyard/files/grafana-dashboard.json) read for tests: its panel
queries, the metric and label names each one uses, and the query as Prometheus takes it (Grafana's
variables substituted)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from tests.chart.helm import CHART

DASHBOARD = CHART / "files" / "grafana-dashboard.json"

# What Grafana would send for the dashboard's defaults: every run, a 30 s rate window.
SUBSTITUTIONS = {
    "$__rate_interval": "30s",
    "${__rate_interval}": "30s",
    "$__interval": "5s",
    "${__interval}": "5s",
    "$__range": "1h",
    "${__range}": "1h",
    "${run_id:regex}": ".*",
    "${run_id}": ".*",
    "$run_id": ".*",
}
_METRIC = re.compile(r"\b(trainyard_[a-z0-9_]+)\b")
_MATCHER = re.compile(r"\b(trainyard_[a-z0-9_]+)\s*\{([^}]*)\}")
_LABEL_IN_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
_GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


@dataclass(frozen=True)
class Query:
    panel: str
    ref: str
    expr: str

    @property
    def id(self) -> str:
        return f"{self.panel}/{self.ref}"

    @property
    def metrics(self) -> set[str]:
        return set(_METRIC.findall(self.expr))

    @property
    def labels(self) -> set[str]:
        """Label names the query filters or groups by (`le` belongs to histogram buckets)."""
        names = {name for _, matchers in _MATCHER.findall(self.expr) for name in _LABEL_IN_MATCHER.findall(matchers)}
        for group in _GROUPING.findall(self.expr):
            names |= {n.strip() for n in group.split(",") if n.strip()}
        return names

    @property
    def source(self) -> str:
        """trainer, api or operator: the component whose /metrics the query reads."""
        (source,) = {m.split("_")[1] for m in self.metrics}
        return source

    def promql(self) -> str:
        expr = self.expr
        for variable, value in sorted(SUBSTITUTIONS.items(), key=lambda kv: -len(kv[0])):
            expr = expr.replace(variable, value)
        assert "$" not in expr, f"{self.id}: unsubstituted variable in {expr!r}"
        return expr


def load() -> dict:
    return json.loads(DASHBOARD.read_text())


def panels(dashboard: dict | None = None) -> list[dict]:
    out = []
    for panel in (dashboard or load())["panels"]:
        out += [panel, *panel.get("panels", [])]  # collapsed rows hold their panels
    return [p for p in out if p["type"] != "row"]


def queries(dashboard: dict | None = None) -> list[Query]:
    return [Query(p["title"], t["refId"], t["expr"]) for p in panels(dashboard) for t in p.get("targets", [])]


def variable_queries(dashboard: dict | None = None) -> list[Query]:
    """Query variables as PromQL with the same answer: label_values(m, l) -> count by (l) (m)."""
    out = []
    for var in (dashboard or load())["templating"]["list"]:
        if var["type"] == "query":
            text = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            m = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", text)
            assert m, f"variable {var['name']}: unsupported query {text!r}"
            out.append(Query(f"variable {var['name']}", "values", f"count by ({m[2]}) ({m[1]})"))
    return out
