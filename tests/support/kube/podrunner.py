"""A stand-in kubelet and scheduler for the test control plane: registers one Node, binds every
unscheduled Pod to it and runs each Pod's containers as local processes (podworker.py), with the
Pod translated into processes by podspec.py. Talks to the API only through rest.py.

    runner = PodRunner(api_client, work_dir)  # venv_bin defaults to this interpreter's bin dir
    runner.start()            # background thread; runner.stop() ends it and every process
    runner.logs("ns", "pod")  # the containers' stdout+stderr
    runner.kill_like_oom("pod", "ns")  # SIGKILL, reported as exit code 137, reason OOMKilled

What it is not: images are never pulled or run (the command runs on this machine, from the
project virtualenv first); there is no network namespace, so every pod's IP is 127.0.0.1 and two
pods listening on the same port collide (give each trainer a unique metrics port); the only
scheduling checks are `nodeSelector` and a pod's own `nvidia.com/gpu` request against the node's
capacity (0 by default; GPUs in use by other pods are not counted); ConfigMap/Secret volumes are
written once at start, not kept in sync.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
import threading
from pathlib import Path
from typing import Self

import kubernetes
from kubernetes.utils import parse_quantity

from .podspec import POD_IP, PodTranslator, pvc_dir
from .podworker import PodWorker, now
from .rest import KubeError, KubeRest

log = logging.getLogger(__name__)
_TERMINAL = ("Succeeded", "Failed")
GPU = "nvidia.com/gpu"


def default_venv_bin() -> Path:
    return Path(sys.prefix) / "bin"


class PodRunner:
    def __init__(
        self,
        api_client: kubernetes.client.ApiClient,
        work_dir: Path,
        venv_bin: Path | None = None,
        *,
        node_name: str = "trainyard-node",
        gpus: int = 0,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.rest = KubeRest(api_client)
        self.work_dir = Path(work_dir)
        self.venv_bin = Path(venv_bin) if venv_bin else default_venv_bin()
        self.node_name = node_name
        self.gpus = gpus
        self.extra_env = dict(extra_env or {})
        self.node: dict = {}
        self.translator: PodTranslator | None = None
        self._workers: dict[str, PodWorker] = {}  # by pod uid
        self._reported_unschedulable: set[str] = set()  # uids already reported Unschedulable
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._watch_resp = None
        self._thread: threading.Thread | None = None

    # -- public ---------------------------------------------------------------------------
    def start(self) -> Self:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._register_node()
        self.translator = PodTranslator(self.rest, self.work_dir, self.venv_bin, self._base_env())
        self._stopping.clear()
        self._thread = threading.Thread(target=self._watch_loop, name="pod-runner-watch", daemon=True)
        self._thread.start()
        log.info(
            "pod runner started: node %s, work dir %s, executables from %s first",
            self.node_name,
            self.work_dir,
            self.venv_bin,
        )
        return self

    def stop(self) -> None:
        self._stopping.set()
        resp = self._watch_resp
        if resp is not None:
            resp.shutdown()
        if self._thread:
            self._thread.join(timeout=30)
        with self._lock:
            workers = list(self._workers.values())
            self._workers.clear()
        for w in workers:
            w.kill_now()
        for w in workers:
            w.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run_forever(self) -> None:
        """For `make cluster`: runs until KeyboardInterrupt."""
        self.start()
        try:
            self._stopping.wait()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def logs(self, namespace: str, pod: str, container: str | None = None) -> str:
        """Stdout and stderr of the pod's containers (every container's, one after the other,
        when `container` is None); the files survive the pod."""
        d = self.work_dir / "logs" / namespace / pod
        paths = [d / f"{container}.log"] if container else sorted(d.glob("*.log"))
        return "".join(p.read_text(errors="replace") for p in paths if p.exists())

    def pvc_dir(self, namespace: str, claim: str) -> Path:
        """The local folder that stands for a PersistentVolumeClaim (shared by the pods that mount it)."""
        return pvc_dir(self.work_dir, namespace, claim)

    def kill_like_oom(self, pod_name: str, namespace: str, container: str | None = None) -> None:
        """SIGKILLs the pod's running container(s); the status says OOMKilled, exit code 137."""
        with self._lock:
            worker = next((w for w in self._workers.values() if w.key == (namespace, pod_name) and not w.done), None)
        if worker is None or not worker.kill_like_oom(container):
            raise LookupError(f"no running container in pod {namespace}/{pod_name}")

    def force_delete(self, pod: dict) -> None:
        meta = pod["metadata"]
        if meta.get("deletionGracePeriodSeconds") == 0:
            return  # already done; the object waits for its finalizers
        try:
            self.rest.delete(
                f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}",
                {"gracePeriodSeconds": 0, "preconditions": {"uid": meta["uid"]}},
            )
        except KubeError as e:
            if e.status not in (404, 409):
                log.warning("force delete of %s/%s failed: %s", meta["namespace"], meta["name"], e)

    # -- node -----------------------------------------------------------------------------
    def _register_node(self) -> None:
        labels = {
            "kubernetes.io/hostname": self.node_name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "trainyard.dev/pod-runner": "true",
        }
        try:
            self.rest.post(
                "/api/v1/nodes",
                {"apiVersion": "v1", "kind": "Node", "metadata": {"name": self.node_name, "labels": labels}},
            )
        except KubeError as e:
            if e.status != 409:
                raise
        resources = {
            "cpu": str(os.cpu_count() or 1),
            "memory": f"{_memory_bytes()}",
            "pods": "110",
            "ephemeral-storage": "100Gi",
            GPU: str(self.gpus),
        }
        t = now()
        version = self.rest.get("/version").get("gitVersion", "")
        conditions = [
            {
                "type": kind,
                "status": "False",
                "reason": f"KubeletHas{ok}",
                "message": ok,
                "lastHeartbeatTime": t,
                "lastTransitionTime": t,
            }
            for kind, ok in (
                ("MemoryPressure", "SufficientMemory"),
                ("DiskPressure", "NoDiskPressure"),
                ("PIDPressure", "SufficientPID"),
            )
        ]
        conditions.append(
            {
                "type": "Ready",
                "status": "True",
                "reason": "KubeletReady",
                "message": "trainyard pod runner is ready",
                "lastHeartbeatTime": t,
                "lastTransitionTime": t,
            }
        )
        self.node = self.rest.patch(
            f"/api/v1/nodes/{self.node_name}/status",
            {
                "status": {
                    "capacity": resources,
                    "allocatable": resources,
                    "conditions": conditions,
                    "addresses": [{"type": "InternalIP", "address": POD_IP}],
                    "nodeInfo": {
                        "machineID": "",
                        "systemUUID": "",
                        "bootID": "",
                        "kernelVersion": platform.release(),
                        "osImage": "trainyard pod runner",
                        "containerRuntimeVersion": "trainyard://1",
                        "kubeletVersion": version,
                        "kubeProxyVersion": "",
                        "operatingSystem": "linux",
                        "architecture": "amd64",
                    },
                }
            },
        )

    def _base_env(self) -> dict[str, str]:
        host = self.rest.api.configuration.host.split("://", 1)[-1]
        api_host, _, api_port = host.rpartition(":")
        env = {k: os.environ[k] for k in ("HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER") if k in os.environ}
        env["PATH"] = os.pathsep.join([str(self.venv_bin), os.environ.get("PATH", "/usr/bin:/bin")])
        env["VIRTUAL_ENV"] = str(self.venv_bin.parent)
        env.update(
            KUBERNETES_SERVICE_HOST=api_host, KUBERNETES_SERVICE_PORT=api_port, KUBERNETES_SERVICE_PORT_HTTPS=api_port
        )
        env.update(self.extra_env)
        return env

    # -- watching pods --------------------------------------------------------------------
    def _watch_loop(self) -> None:
        rv = ""
        while not self._stopping.is_set():
            try:
                if not rv:
                    listed = self.rest.get("/api/v1/pods")
                    rv = listed["metadata"]["resourceVersion"]
                    self._forget_missing({p["metadata"]["uid"] for p in listed["items"]})
                    for pod in listed["items"]:
                        self._on_pod(pod)
                for event in self.rest.watch(
                    "/api/v1/pods", resource_version=rv, timeout_seconds=30, on_open=self._set_watch_resp
                ):
                    obj = event["object"]
                    if event["type"] == "ERROR":
                        if obj.get("code") == 410:  # too old: list again
                            rv = ""
                            break
                        raise KubeError(obj.get("code", 500), repr(obj).encode())
                    rv = obj["metadata"]["resourceVersion"]
                    if event["type"] == "DELETED":
                        self._on_deleted(obj)
                    elif event["type"] != "BOOKMARK":
                        self._on_pod(obj)
            except Exception as e:  # noqa: BLE001 - the watch must outlive any one failure
                if self._stopping.is_set():
                    break
                log.warning("pod watch interrupted (%s: %s); reconnecting", type(e).__name__, e)
                self._stopping.wait(1.0)
            finally:
                self._watch_resp = None

    def _set_watch_resp(self, resp) -> None:
        self._watch_resp = resp
        if self._stopping.is_set():
            resp.shutdown()

    def _on_pod(self, pod: dict) -> None:
        meta, spec = pod["metadata"], pod["spec"]
        uid, phase = meta["uid"], pod.get("status", {}).get("phase", "Pending")
        with self._lock:
            worker = self._workers.get(uid)
        if worker:
            worker.update(pod)
            return
        node = spec.get("nodeName")
        if not node:
            if (
                not meta.get("deletionTimestamp")
                and not spec.get("schedulingGates")
                and uid not in self._reported_unschedulable
            ):
                self._schedule(pod)
        elif node != self.node_name:
            return
        elif phase in _TERMINAL:
            if meta.get("deletionTimestamp"):
                self.force_delete(pod)
        else:
            worker = PodWorker(self, pod)
            with self._lock:
                if self._stopping.is_set():
                    return
                self._workers[uid] = worker
            worker.start()

    def _on_deleted(self, pod: dict) -> None:
        with self._lock:
            worker = self._workers.pop(pod["metadata"]["uid"], None)
        self._reported_unschedulable.discard(pod["metadata"]["uid"])
        if worker and not worker.done:
            worker.kill_now()

    def _forget_missing(self, uids: set[str]) -> None:
        with self._lock:
            gone = [w for uid, w in self._workers.items() if uid not in uids]
            self._workers = {uid: w for uid, w in self._workers.items() if uid in uids}
        for w in gone:
            w.kill_now()

    def _schedule(self, pod: dict) -> None:
        meta = pod["metadata"]
        ns, name = meta["namespace"], meta["name"]
        why = self._unschedulable(pod)
        try:
            if why:
                self._reported_unschedulable.add(meta["uid"])
                log.info("pod %s/%s is unschedulable: %s", ns, name, why)
                self.rest.patch(
                    f"/api/v1/namespaces/{ns}/pods/{name}/status",
                    {
                        "status": {
                            "conditions": [
                                {
                                    "type": "PodScheduled",
                                    "status": "False",
                                    "reason": "Unschedulable",
                                    "message": f"0/1 nodes are available: {why}.",
                                    "lastTransitionTime": now(),
                                }
                            ]
                        }
                    },
                )
                return
            self.rest.post(
                f"/api/v1/namespaces/{ns}/pods/{name}/binding",
                {
                    "apiVersion": "v1",
                    "kind": "Binding",
                    "metadata": {"name": name, "uid": meta["uid"]},
                    "target": {"apiVersion": "v1", "kind": "Node", "name": self.node_name},
                },
            )
        except KubeError as e:
            if e.status not in (404, 409):
                log.warning("scheduling %s/%s failed: %s", ns, name, e)

    def _unschedulable(self, pod: dict) -> str:
        labels = self.node["metadata"].get("labels", {})
        selector = pod["spec"].get("nodeSelector", {})
        if any(labels.get(k) != v for k, v in selector.items()):
            return "1 node(s) didn't match Pod's node affinity/selector"
        wanted = sum(
            parse_quantity((c.get("resources", {}).get("limits") or {}).get(GPU, 0))
            for c in pod["spec"].get("containers", [])
        )
        if wanted > self.gpus:
            return f"1 Insufficient {GPU}"
        return ""


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 8 << 30
