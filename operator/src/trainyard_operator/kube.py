"""The only module that talks to Kubernetes (besides kopf's own watching): plain dicts in and out.

Calls go through a ``kubernetes.client.ApiClient`` (kubeconfig or in-cluster credentials) in a
thread pool, so the reconcilers (reconcile/*) stay async. Create-or-adopt of the Job treats 409
as "it exists already" and checks that the existing Job belongs to the run; pod logs are read
through the pods/log API with a short timeout, and a failure to read them means "no lines".
"""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kubernetes

from trainyard_operator import constants as c

log = logging.getLogger(__name__)

MERGE_PATCH = "application/merge-patch+json"
_TIMEOUT = 30.0
_LOG_TIMEOUT = 3.0


class KubeError(Exception):
    """An API error response (``status`` is the HTTP code) or a connection failure (status 0)."""

    def __init__(self, status: int, message: str, reason: str = "") -> None:
        self.status = status
        self.reason = reason
        super().__init__(f"HTTP {status} {reason}: {message}" if status else message)

    @property
    def temporary(self) -> bool:
        """Worth retrying later: no answer, throttling, server trouble or a write conflict."""
        return self.status in (0, 409, 429) or self.status >= 500

    @classmethod
    def from_response(cls, status: int, body: bytes) -> KubeError:
        try:
            doc = json.loads(body)
        except ValueError:
            doc = {}
        return cls(status, doc.get("message") or body[:300].decode(errors="replace"), doc.get("reason", ""))


class JobConflict(Exception):
    """A Job with the run's name exists but belongs to something else."""


def connect(workers: int = 16) -> kubernetes.client.ApiClient:
    """In-cluster credentials when running in a pod, else $KUBECONFIG / ~/.kube/config; one pooled
    connection per worker thread."""
    config = kubernetes.client.Configuration()
    try:
        kubernetes.config.load_incluster_config(client_configuration=config)
    except kubernetes.config.ConfigException:
        kubernetes.config.load_kube_config(client_configuration=config)
    config.connection_pool_maxsize = max(workers, 4)
    return kubernetes.client.ApiClient(config)


class Kube:
    def __init__(self, api: kubernetes.client.ApiClient, workers: int = 16) -> None:
        self.api = api
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kube")

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.api.close()

    # -- plumbing --------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, query: dict[str, Any] | None = None, body: Any = None,
                 content_type: str = "application/json", timeout: float = _TIMEOUT, raw: bool = False) -> Any:
        # pods/log streams plain text, but the apiserver negotiates only its serializers (406 for
        # text/plain): accept anything, as kubectl does.
        headers = {"Accept": "*/*" if raw else "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        try:
            method, url, headers, body, _ = self.api.param_serialize(
                method, path, query_params=list((query or {}).items()), header_params=headers, body=body,
                auth_settings=["BearerToken"])
            resp = self.api.call_api(method, url, headers, body, _request_timeout=timeout)
            data = resp.read()
        except Exception as e:  # noqa: BLE001 - urllib3/SSL/socket errors: no answer
            raise KubeError(0, f"{method} {path}: {type(e).__name__}: {e}") from None
        if not 200 <= resp.status < 300:
            raise KubeError.from_response(resp.status, data)
        if raw:
            return data.decode(errors="replace")
        return json.loads(data) if data else {}

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: self._request(method, path, **kwargs))

    async def _get_or_none(self, path: str, **query: Any) -> dict[str, Any] | None:
        try:
            return await self._call("GET", path, query=query or None)
        except KubeError as e:
            if e.status == 404:
                return None
            raise

    # -- TrainingRuns ----------------------------------------------------------------------
    @staticmethod
    def _run_path(namespace: str, name: str) -> str:
        return f"/apis/{c.GROUP}/{c.VERSION}/namespaces/{namespace}/{c.PLURAL}/{name}"

    async def read_run(self, namespace: str, name: str) -> dict[str, Any] | None:
        return await self._get_or_none(self._run_path(namespace, name))

    async def patch_run_status(self, namespace: str, name: str, status: dict[str, Any]) -> dict[str, Any]:
        return await self._call("PATCH", self._run_path(namespace, name) + "/status", body={"status": status},
                                content_type=MERGE_PATCH, query={"fieldManager": c.FIELD_MANAGER})

    # -- Jobs ------------------------------------------------------------------------------
    @staticmethod
    def _jobs_path(namespace: str) -> str:
        return f"/apis/batch/v1/namespaces/{namespace}/jobs"

    async def read_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        return await self._get_or_none(f"{self._jobs_path(namespace)}/{name}")

    async def create_or_adopt_job(self, job: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create ``job``; if it exists, return it when it is ours (adopting an orphan with our run id).

        Returns (job, created). Raises JobConflict when the name is taken by another owner.
        """
        meta = job["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        owner = meta["ownerReferences"][0]
        try:
            created = await self._call("POST", self._jobs_path(namespace), body=job,
                                       query={"fieldManager": c.FIELD_MANAGER})
            return created, True
        except KubeError as e:
            if e.status != 409:
                raise
        existing = await self.read_job(namespace, name)
        if existing is None:  # deleted between the two calls: the next attempt creates it
            raise KubeError(409, f"Job {namespace}/{name} is being deleted", "Conflict")
        refs = existing["metadata"].get("ownerReferences") or []
        controller = next((r for r in refs if r.get("controller")), None)
        if controller and controller.get("uid") == owner["uid"]:
            return existing, False
        run_id = (existing["metadata"].get("labels") or {}).get(c.RUN_ID_LABEL)
        if controller is None and run_id == owner["uid"]:
            adopted = await self._call(
                "PATCH", f"{self._jobs_path(namespace)}/{name}", content_type=MERGE_PATCH,
                body={"metadata": {"ownerReferences": [*refs, owner],
                                   "resourceVersion": existing["metadata"]["resourceVersion"]}})
            return adopted, False
        holder = f"{controller['kind']} {controller['name']} ({controller['uid']})" if controller else "no owner"
        raise JobConflict(f"Job {namespace}/{name} exists and belongs to {holder}, not to this run")

    async def set_job_suspended(self, namespace: str, name: str, suspend: bool) -> dict[str, Any] | None:
        """Suspend (the Job controller deletes active pods gracefully; no new pod starts) or resume."""
        try:
            return await self._call("PATCH", f"{self._jobs_path(namespace)}/{name}", content_type=MERGE_PATCH,
                                    body={"spec": {"suspend": suspend}}, query={"fieldManager": c.FIELD_MANAGER})
        except KubeError as e:
            if e.status in (404, 422):  # gone, or finished (a finished Job cannot be suspended)
                log.info("Job %s/%s not %s: %s", namespace, name, "suspended" if suspend else "resumed", e)
                return None
            raise

    # -- Pods ------------------------------------------------------------------------------
    async def list_run_pods(self, namespace: str, run_id: str) -> list[dict[str, Any]]:
        listed = await self._call("GET", f"/api/v1/namespaces/{namespace}/pods",
                                  query={"labelSelector": f"{c.RUN_ID_LABEL}={run_id}"})
        return listed.get("items") or []

    async def pod_log_tail(self, namespace: str, pod: str, lines: int) -> list[str]:
        """The last ``lines`` lines of the trainer's log; [] when they cannot be read (never blocks long)."""
        if lines <= 0:
            return []
        try:
            text = await self._call(
                "GET", f"/api/v1/namespaces/{namespace}/pods/{pod}/log",
                query={"container": c.CONTAINER_NAME, "tailLines": lines, "limitBytes": 64 * 1024},
                timeout=_LOG_TIMEOUT, raw=True)
        except KubeError as e:
            log.info("no log lines for pod %s/%s: %s", namespace, pod, e)
            return []
        return text.splitlines()[-lines:]
