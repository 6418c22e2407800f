"""Plain-dict access to the Kubernetes API over a `kubernetes.client.ApiClient`'s connection
and credentials (tests/k8s/test_rbac.py).

The generated client models fail to deserialize some objects (e.g. a Binding's response,
kubernetes-client/python#825) and validate every call; a test that only needs JSON in, JSON out uses this.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import kubernetes
from kubernetes.watch.watch import iter_resp_lines

SMP = "application/strategic-merge-patch+json"


class KubeError(Exception):
    def __init__(self, status: int, body: bytes) -> None:
        try:
            doc = json.loads(body)
        except ValueError:
            doc = {}
        self.status = status
        self.reason = doc.get("reason", "")
        super().__init__(f"HTTP {status} {self.reason}: {doc.get('message', body[:300])}")


class KubeRest:
    def __init__(self, api_client: kubernetes.client.ApiClient) -> None:
        self.api = api_client

    def _send(self, method: str, path: str, query: dict | None, body: Any, content_type: str, timeout: Any):
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        method, url, headers, body, _ = self.api.param_serialize(
            method,
            path,
            query_params=list((query or {}).items()),
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        return self.api.call_api(method, url, headers, body, _request_timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict | None = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: float = 30,
    ) -> dict:
        resp = self._send(method, path, query, body, content_type, timeout)
        data = resp.read()
        if not 200 <= resp.status < 300:
            raise KubeError(resp.status, data)
        return json.loads(data) if data else {}

    def get(self, path: str, **query: Any) -> dict:
        return self.request("GET", path, query=query)

    def post(self, path: str, body: dict) -> dict:
        return self.request("POST", path, body=body)

    def patch(self, path: str, body: dict, content_type: str = SMP) -> dict:
        return self.request("PATCH", path, body=body, content_type=content_type)

    def delete(self, path: str, body: dict | None = None) -> dict:
        return self.request("DELETE", path, body=body)

    def watch(
        self, path: str, *, resource_version: str, timeout_seconds: int, on_open: Callable[[Any], None] | None = None
    ) -> Iterator[dict]:
        """Events of one watch request (ends after about `timeout_seconds`); a stale resource
        version arrives as an ERROR event with code 410. `on_open` gets the urllib3 response,
        whose `shutdown()` ends the watch from another thread."""
        query = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": timeout_seconds,
        }
        resp = self._send("GET", path, query, None, "", (5, timeout_seconds + 15))
        if not 200 <= resp.status < 300:
            raise KubeError(resp.status, resp.read())
        raw = resp.response
        if on_open:
            on_open(raw)
        try:
            for line in iter_resp_lines(raw):
                if line:
                    yield json.loads(line)
        finally:
            raw.release_conn()
