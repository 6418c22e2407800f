"""A real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager) started as
local processes, for tests (fixtures.py) and `make cluster` (scripts/k8s/cluster.py).

The binaries come from scripts/k8s/build.sh (built from the Go module proxy, cached per version).
Pods run on a real node (node.py: containerd + kubelet + kube-proxy + kube-scheduler) that joins
this control plane when started `with_node=True`.

    with ControlPlane() as cp:
        core = kubernetes.client.CoreV1Api(cp.api_client())

Every process runs in its own process group, logs to a file in the temp dir and is stopped with
SIGTERM, then SIGKILL. Authorization is Node,RBAC, so permission checks are real; the admin
kubeconfig uses a client certificate in group system:masters.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Self

import kubernetes

from ..ports import free_port
from . import pki

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[3]
BUILD_SCRIPT = REPO_ROOT / "scripts" / "k8s" / "build.sh"
SERVICE_CIDR = "10.0.0.0/24"
# kube-controller-manager's --controllers; names from cmd/kube-controller-manager/names (v1.37).
CONTROLLERS = (
    "job-controller",
    "cronjob-controller",
    "ttl-after-finished-controller",
    "garbage-collector-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "root-ca-certificate-publisher-controller",  # kube-root-ca.crt, part of every token volume
    "clusterrole-aggregation-controller",  # fills the admin/edit/view roles
    "deployment-controller",
    "replicaset-controller",
    "statefulset-controller",
    "pod-garbage-collector-controller",
    "endpointslice-controller",
    "service-cidr-controller",
    "persistentvolumeclaim-protection-controller",
)
# Added when a real node joins (node.py): the not-ready taint is lifted by the node lifecycle
# controller, and PVCs bind to the node's hostPath PersistentVolumes through the binder.
NODE_CONTROLLERS = ("node-lifecycle-controller", "persistentvolume-binder-controller")
_BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager")


class ControlPlaneError(RuntimeError):
    pass


def default_bin_dir() -> Path:
    """The cache dir build.sh builds into (it only prints it: nothing is built here)."""
    out = subprocess.run(["bash", str(BUILD_SCRIPT), "--bin-dir"], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip())


def missing_binaries(bin_dir: Path) -> list[str]:
    return [b for b in _BINARIES if not os.access(bin_dir / b, os.X_OK)]


def die_with_parent() -> list[str]:
    """A prefix that has the kernel SIGKILL the child if the process that started it dies, so a
    killed pytest leaves no apiserver behind (`setpriv` from util-linux; without it, nothing)."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL"] if setpriv else []


class ControlPlane:
    """etcd + kube-apiserver + kube-controller-manager on free loopback ports in a temp dir."""

    def __init__(
        self,
        bin_dir: Path | None = None,
        work_dir: Path | None = None,
        *,
        keep_work_dir: bool = False,
        start_timeout: float = 120.0,
        with_node: bool = False,
    ) -> None:
        self.with_node = with_node
        self.bin_dir = Path(bin_dir) if bin_dir else default_bin_dir()
        self._own_work_dir = work_dir is None
        self.work_dir = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="trainyard-k8s-"))
        self.keep_work_dir = keep_work_dir
        self.start_timeout = start_timeout
        self.kubeconfig = self.work_dir / "admin.kubeconfig"
        self.server = ""
        self._procs: dict[str, subprocess.Popen] = {}
        self._logs: dict[str, Path] = {}

    # -- public ---------------------------------------------------------------------------
    def start(self) -> Self:
        missing = missing_binaries(self.bin_dir)
        if missing:
            raise ControlPlaneError(f"missing {', '.join(missing)} in {self.bin_dir}: run `make k8s-bins`")
        started = time.monotonic()
        try:
            self._write_pki()
            self._start_etcd()
            self._start_apiserver()
            self._start_controller_manager()
            self._wait_for_default_service_account()
        except BaseException:
            self._report_failure()
            self.stop()
            raise
        log.info("control plane ready at %s in %.1fs", self.server, time.monotonic() - started)
        return self

    def stop(self) -> None:
        for name in reversed(list(self._procs)):
            _stop_group(self._procs.pop(name), name)
        if self._own_work_dir and not self.keep_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def api_client(self) -> kubernetes.client.ApiClient:
        """A new admin client (close it, or use it as a context manager, when done)."""
        return kubernetes.config.new_client_from_config(config_file=str(self.kubeconfig))

    def log_paths(self) -> dict[str, Path]:
        return dict(self._logs)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- steps ----------------------------------------------------------------------------
    def _write_pki(self) -> None:
        d = self.work_dir / "pki"
        self.ca = pki.make_ca(d)
        service_ip = SERVICE_CIDR.rsplit(".", 1)[0] + ".1"  # the `kubernetes` Service's ClusterIP
        self.serving = pki.make_leaf(
            self.ca,
            d,
            "apiserver",
            subject="/CN=kube-apiserver",
            server_names=(
                "127.0.0.1",
                "localhost",
                service_ip,
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            ),
        )
        self.admin = pki.make_leaf(self.ca, d, "admin", subject="/O=system:masters/CN=trainyard-admin")
        self.kcm = pki.make_leaf(self.ca, d, "kcm", subject="/CN=system:kube-controller-manager")
        self.sa_key = pki.make_service_account_key(d)

    def _start_etcd(self) -> None:
        port, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{port}"
        self._spawn(
            "etcd",
            [
                "--name=trainyard",
                f"--data-dir={self.work_dir / 'etcd'}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=trainyard=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        self._wait("etcd", lambda: b'"health":"true"' in _http_get(f"{self.etcd_url}/health"))

    def _start_apiserver(self) -> None:
        port = free_port()
        self.server = f"https://127.0.0.1:{port}"
        self._spawn(
            "kube-apiserver",
            [
                f"--etcd-servers={self.etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={port}",
                "--endpoint-reconciler-type=none",  # a loopback address cannot back the `kubernetes` Service
                f"--cert-dir={self.work_dir / 'pki'}",
                f"--tls-cert-file={self.serving.cert}",
                f"--tls-private-key-file={self.serving.key}",
                f"--client-ca-file={self.ca.cert}",
                "--authorization-mode=Node,RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={self.sa_key}",
                f"--service-account-signing-key-file={self.sa_key}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--allow-privileged=true",
                "--profiling=false",
                "--v=1",
                # `kubectl logs/exec` reach a real node's kubelet at its InternalIP (never a DNS
                # lookup of the node's name), as an admin.
                "--kubelet-preferred-address-types=InternalIP",
                f"--kubelet-client-certificate={self.admin.cert}",
                f"--kubelet-client-key={self.admin.key}",
            ],
        )
        pki.write_kubeconfig(
            self.kubeconfig, server=self.server, ca=self.ca.cert, client=self.admin, user="trainyard-admin"
        )
        ctx = ssl.create_default_context(cafile=str(self.ca.cert))
        ctx.load_cert_chain(str(self.admin.cert), str(self.admin.key))
        self._wait("kube-apiserver", lambda: _http_get(f"{self.server}/readyz", ctx) == b"ok")

    def _start_controller_manager(self) -> None:
        kubeconfig = pki.write_kubeconfig(
            self.work_dir / "kcm.kubeconfig",
            server=self.server,
            ca=self.ca.cert,
            client=self.kcm,
            user="system:kube-controller-manager",
        )
        self._spawn(
            "kube-controller-manager",
            [
                f"--kubeconfig={kubeconfig}",
                f"--controllers={','.join(CONTROLLERS + (NODE_CONTROLLERS if self.with_node else ()))}",
                "--use-service-account-credentials=true",  # each controller as its own SA, like kubeadm
                f"--service-account-private-key-file={self.sa_key}",
                f"--root-ca-file={self.ca.cert}",
                "--leader-elect=false",
                "--secure-port=0",
                "--kube-api-qps=100",
                "--kube-api-burst=200",
                "--v=1",
            ],
        )

    def _wait_for_default_service_account(self) -> None:
        with self.api_client() as api:
            core = kubernetes.client.CoreV1Api(api)

            def ready() -> bool:
                try:
                    core.read_namespaced_service_account("default", "default", _preload_content=False)
                    return True
                except kubernetes.client.ApiException as e:
                    if e.status != 404:
                        raise
                    return False

            self._wait("kube-controller-manager (default ServiceAccount)", ready)

    # -- processes ------------------------------------------------------------------------
    def _spawn(self, name: str, args: list[str]) -> None:
        path = self.work_dir / f"{name}.log"
        self._logs[name] = path
        with path.open("ab") as out:
            self._procs[name] = subprocess.Popen(
                [*die_with_parent(), str(self.bin_dir / name), *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.work_dir,
            )
        log.info("started %s (pid %d), log %s", name, self._procs[name].pid, path)

    def _wait(self, what: str, probe) -> None:
        deadline = time.monotonic() + self.start_timeout
        last: object = None
        while time.monotonic() < deadline:
            for name, proc in self._procs.items():
                if proc.poll() is not None:
                    raise ControlPlaneError(f"{name} exited with {proc.returncode}; log: {self._logs[name]}")
            try:
                if probe():
                    return
            except (OSError, urllib.error.URLError, kubernetes.client.ApiException) as e:
                last = e
            time.sleep(0.2)
        raise ControlPlaneError(f"{what} not ready after {self.start_timeout:.0f}s (last error: {last})")

    def _report_failure(self) -> None:
        for name, path in self._logs.items():
            tail = path.read_text(errors="replace").splitlines()[-15:] if path.exists() else []
            log.error("%s log %s, last lines:\n%s", name, path, "\n".join(tail))
        self.keep_work_dir = True  # keep the logs to read


def _http_get(url: str, ctx: ssl.SSLContext | None = None) -> bytes:
    with urllib.request.urlopen(url, timeout=2, context=ctx) as resp:
        return resp.read()


def _stop_group(proc: subprocess.Popen, name: str, grace: float = 10.0) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0fs: SIGKILL", name, grace)
        except ProcessLookupError:
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):  # anything left in the group
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
