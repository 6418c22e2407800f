"""Every Grafana panel against the real thing: a smoke training run (`trainyard-train`), the API
and the operator, scraped by this test and by a real Prometheus (Debian's, on loopback, 1 s scrape
interval). For each panel query: its metrics and labels appear in the /metrics output of the
component it reads, and Prometheus answers it with data (/api/v1/query).

The operator runs as the chart installs it (tests/chart/stack.py): `helm install` into the test
control plane with an external MongoDB (FerretDB), then the operator container's command with its
resolved env and only its ServiceAccount's token. A TrainingRun whose pod can never start fails
with PendingTimeout, which fills the runs-by-phase and failures-by-reason panels and proves that
the chart's RBAC is enough for the operator's whole reconcile loop. Without a control plane (and
not under CI) the operator's cases are skipped; the trainer's and the API's still run.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import kubernetes
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.chart import dashboard
from tests.chart.helm import REPO
from tests.chart.stack import (
    RELEASE,
    OperatorProcess,
    delete_namespace,
    free_ports_values,
    install,
    new_namespace,
    service_account_kubeconfig,
)
from tests.support.ports import free_port, wait_for_http
from tests.support.processes import ApiServer, trainer
from tests.support.stopping import stop_process_group

pytestmark = [pytest.mark.chart, pytest.mark.training, pytest.mark.mongo, pytest.mark.timeout(900)]

RUN_ID = "chart-smoke"
SMOKE_TIMEOUT = 600  # seconds; a 1024-step smoke run takes about a minute on a free core
QUERIES = dashboard.queries() + dashboard.variable_queries()


def query_params():
    """One case per panel query; the operator's need the control plane (marker k8s)."""
    return [pytest.param(q, id=q.id, marks=[pytest.mark.k8s] if q.source == "operator" else [])
            for q in QUERIES]


# ------------------------------------------------------------------ Prometheus


class Prometheus:
    """Debian's `prometheus` on a free loopback port, storage in a temp dir, scraping `targets`."""

    def __init__(self, binary: str, work_dir: Path, targets: dict[str, str]):
        self.binary = binary
        self.work_dir = work_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.targets = targets
        self.proc: subprocess.Popen | None = None

    def start(self) -> Prometheus:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [address]}]}
                               for job, address in self.targets.items()],
        }
        (self.work_dir / "prometheus.yml").write_text(yaml.safe_dump(config))
        log = open(self.work_dir / "prometheus.log", "ab")  # noqa: SIM115 - lives as long as the child
        self.proc = subprocess.Popen(
            [self.binary, f"--config.file={self.work_dir / 'prometheus.yml'}",
             f"--storage.tsdb.path={self.work_dir / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}",
             "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.work_dir)
        wait_for_http(f"{self.url}/-/ready", timeout=60)
        return self

    def query(self, expr: str, at: float) -> list[dict]:
        resp = httpx.get(f"{self.url}/api/v1/query", params={"query": expr, "time": f"{at:.3f}"}, timeout=10)
        body = resp.json()
        assert resp.status_code == 200 and body["status"] == "success", f"{expr}: {body}"
        return body["data"]["result"]

    def target_health(self) -> dict[str, str]:
        body = httpx.get(f"{self.url}/api/v1/targets", timeout=10).json()
        return {t["labels"]["job"]: f"{t['health']} {t.get('lastError', '')}".strip()
                for t in body["data"]["activeTargets"]}

    def stop(self) -> None:
        stop_process_group(self.proc)


# ------------------------------------------------------------------ what the run exposed


@dataclass
class Observed:
    samples: dict[str, dict[str, set[str]]] = field(default_factory=dict)  # source -> sample name -> labels
    last_alive: float = 0.0  # when the trainer's /metrics last answered (unix time)
    prometheus: Prometheus | None = None
    operator_skipped: str = ""
    failed_run: dict | None = None
    operator_log: str = ""

    def add(self, source: str, text: str) -> None:
        names = self.samples.setdefault(source, {})
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                names.setdefault(sample.name, set()).update(sample.labels)


def scrape(url: str) -> str:
    resp = httpx.get(url, timeout=2)
    resp.raise_for_status()
    return resp.text


def wants_operator(request) -> bool:
    return any(item.module is request.module and item.get_closest_marker("k8s") for item in request.session.items)


@pytest.fixture(scope="module")
def observed(request, ferretdb, tmp_path_factory) -> Observed:
    from trainyard_runstore.settings import MongoSettings

    work = tmp_path_factory.mktemp("observability")
    mongo = MongoSettings(uri=ferretdb.uri, db_name=f"chart_observe_{os.getpid()}")
    obs = Observed()
    cleanup = []
    try:
        operator = start_operator(request, mongo, work, obs, cleanup) if wants_operator(request) else None
        if not wants_operator(request):
            obs.operator_skipped = "the operator's cases are deselected"
        api = ApiServer(mongo.uri, mongo.db_name, work / "api.log").start()
        cleanup.append(api.stop)
        trainer_port = free_port()
        targets = {"trainer": f"127.0.0.1:{trainer_port}", "api": f"127.0.0.1:{api.port}"}
        if operator:
            targets["operator"] = operator.metrics_url.split("/")[2]
        binary = shutil.which("prometheus")
        if binary:
            obs.prometheus = Prometheus(binary, work / "prometheus", targets).start()
            cleanup.append(obs.prometheus.stop)
        elif os.environ.get("CI"):
            pytest.fail("prometheus is not installed: run `make prometheus`")

        proc = trainer(["--mode", "smoke", "--total-timesteps", "1024", "--run-id", RUN_ID, "--agent-id", "chart_agent",
                        "--metrics-port", str(trainer_port), "--checkpoint-dir", str(work / "checkpoints")],
                       mongo.uri, mongo.db_name, work / "trainer.log")
        cleanup.append(lambda: proc.poll() is None and os.killpg(proc.pid, signal.SIGKILL))
        deadline = time.monotonic() + SMOKE_TIMEOUT
        with httpx.Client(base_url=api.url, timeout=5) as client:
            while proc.poll() is None:
                assert time.monotonic() < deadline, f"the smoke run took over {SMOKE_TIMEOUT}s"
                try:
                    obs.add("trainer", scrape(f"http://127.0.0.1:{trainer_port}/metrics"))
                    obs.last_alive = time.time()
                except httpx.HTTPError:
                    pass  # not listening yet, or just exited
                try:  # traffic for the API's panels, as the web UI makes it
                    client.get("/api/training-runs")
                    client.get(f"/api/training-runs/{RUN_ID}")
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
        log = (work / "trainer.log").read_text(errors="replace")
        assert proc.returncode == 0, f"the smoke run failed:\n{log[-3000:]}"
        assert obs.last_alive, f"the trainer's /metrics never answered:\n{log[-3000:]}"
        obs.add("api", scrape(f"{api.url}/metrics"))
        if operator:
            obs.add("operator", scrape(operator.metrics_url))
            obs.operator_log = operator.log()
        yield obs
    finally:
        for stop in reversed(cleanup):
            stop()


def start_operator(request, mongo, work: Path, obs: Observed, cleanup: list) -> OperatorProcess | None:
    """The chart's operator on the control plane, with a TrainingRun that fails (see the module doc)."""
    try:
        control_plane = request.getfixturevalue("control_plane")
    except pytest.skip.Exception as skipped:
        obs.operator_skipped = str(skipped)
        return None
    kube_api, helm = request.getfixturevalue("kube_api"), request.getfixturevalue("helm")
    namespace = new_namespace(kube_api, "chart-observe")
    cleanup.append(lambda: delete_namespace(kube_api, namespace))
    install(helm, control_plane.kubeconfig, namespace, "--set", "mongodb.enabled=false",
            "--set", f"mongodb.external.uri={mongo.uri}", "--set", f"mongodb.database={mongo.db_name}",
            "--set", "operator.progressInterval=1", *free_ports_values())
    kubeconfig = service_account_kubeconfig(kube_api, control_plane.server, control_plane.ca.cert, namespace,
                                            f"{RELEASE}-operator", work / "operator.kubeconfig")
    operator = OperatorProcess(kube_api, namespace, kubeconfig, work / "operator.log").start()
    cleanup.append(operator.stop)

    run = yaml.safe_load((REPO / "examples" / "trainingrun-smoke.yaml").read_text())
    run["metadata"] = {"name": "never-starts", "namespace": namespace}
    run["spec"]["pendingTimeoutSeconds"] = 1  # no node runs the pod: it fails with PendingTimeout
    custom = kubernetes.client.CustomObjectsApi(kube_api)
    custom.create_namespaced_custom_object("trainyard.dev", "v1alpha1", namespace, "trainingruns", run)

    def failed():
        body = custom.get_namespaced_custom_object("trainyard.dev", "v1alpha1", namespace, "trainingruns",
                                                   "never-starts")
        return body if body.get("status", {}).get("phase") == "Failed" else None

    deadline = time.monotonic() + 90
    while not (body := failed()):
        if time.monotonic() > deadline:
            pytest.fail(f"the operator did not fail the unschedulable run in 90 s:\n{operator.log()[-4000:]}")
        time.sleep(0.5)
    obs.failed_run = body
    return operator


def need_source(obs: Observed, query: dashboard.Query) -> None:
    if query.source == "operator" and "operator" not in obs.samples:
        pytest.skip(f"operator not observed: {obs.operator_skipped}")


# ------------------------------------------------------------------ the tests


@pytest.mark.parametrize("query", query_params())
def test_panel_metrics_and_labels_are_exported(observed, query):
    need_source(observed, query)
    exported = observed.samples[query.source]
    missing = query.metrics - set(exported)
    assert not missing, f"{query.id}: {sorted(missing)} not in the {query.source}'s /metrics " \
                        f"(it has {sorted(exported)})"
    labels = set().union(*(exported[m] for m in query.metrics))
    assert query.labels <= labels, f"{query.id}: labels {sorted(query.labels - labels)} not on {query.metrics}"


@pytest.mark.parametrize("query", query_params())
def test_panel_query_returns_data_from_prometheus(observed, query):
    need_source(observed, query)
    if observed.prometheus is None:
        pytest.skip("prometheus is not installed: run `make prometheus`")
    # While the trainer was up (it was scraped every second before); a few instants, because a scrape
    # that timed out on a busy machine marks the series stale until the next one.
    for at in (observed.last_alive - delay for delay in (1, 3, 6, 10)):
        result = observed.prometheus.query(query.promql(), at)
        if result:
            break
    assert result, (f"{query.id}: no data for {query.promql()!r} in the run's last 10 s; targets: "
                    f"{observed.prometheus.target_health()}")
    values = [float(r["value"][1]) for r in result]
    assert any(not math.isnan(v) for v in values), f"{query.id}: only NaN for {query.promql()!r}"
    if "run_id" in query.labels and query.source == "trainer":
        assert {r["metric"].get("run_id") for r in result} == {RUN_ID}


@pytest.mark.k8s
def test_operator_runs_a_training_run_with_only_the_chart_s_rbac(observed):
    if observed.failed_run is None:
        pytest.skip(f"operator not observed: {observed.operator_skipped}")
    status = observed.failed_run["status"]
    finished = {c["type"]: c for c in status["conditions"]}["Finished"]
    assert finished["reason"] == "PendingTimeout", status
    forbidden = sorted(set(re.findall(r"([A-Z]+ https?://[^/\s]+\S*) -> APIForbiddenError", observed.operator_log))
                       | set(re.findall(r"Not enough permissions[^.]*", observed.operator_log))
                       | {line for line in observed.operator_log.splitlines()
                          # an HTTP 403, not a port number such as :45403
                          if re.search(r"(?<![:\d])403(?!\d)", line) and "kopf" not in line})
    # kopf lists namespaces and CRDs cluster-wide unless scanning is disabled; the chart grants nothing
    # cluster-wide, so an operator serving named namespaces must run kopf with settings.scanning.disabled.
    assert not forbidden, f"the operator was refused with the chart's RBAC: {forbidden}"
    runs = observed.samples["operator"]
    assert "trainyard_operator_run_failures_total" in runs
