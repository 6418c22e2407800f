"""RBAC is enforced by the test control plane (authorization mode Node,RBAC)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes
import pytest

from tests.support.kube.rest import KubeError, KubeRest

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(120)]

KUBECTL = shutil.which("kubectl", path=str(Path(sys.prefix) / "bin")) or "kubectl"


def can_i(control_plane, *args: str) -> str:
    out = subprocess.run(
        [KUBECTL, "--kubeconfig", str(control_plane.kubeconfig), "auth", "can-i", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return out.stdout.strip()


def test_service_account_without_permissions_is_denied(control_plane, kube_api, k8s_namespace):
    core = kubernetes.client.CoreV1Api(kube_api)
    core.create_namespaced_service_account(k8s_namespace, {"metadata": {"name": "nobody"}})
    who = f"--as=system:serviceaccount:{k8s_namespace}:nobody"
    assert can_i(control_plane, "list", "secrets", "-n", k8s_namespace, who) == "no"

    # The same through the SA's own token: a real 403 from the apiserver.
    token = core.create_namespaced_service_account_token(
        "nobody", k8s_namespace, {"spec": {"audiences": []}}
    ).status.token
    config = kubernetes.client.Configuration()
    config.host = kube_api.configuration.host
    config.ssl_ca_cert = kube_api.configuration.ssl_ca_cert
    config.api_key = {"BearerToken": token}
    config.api_key_prefix = {"BearerToken": "Bearer"}
    with kubernetes.client.ApiClient(config) as as_sa, pytest.raises(KubeError) as denied:
        KubeRest(as_sa).get(f"/api/v1/namespaces/{k8s_namespace}/secrets")
    assert denied.value.status == 403


def test_role_binding_grants(control_plane, kube_api, k8s_namespace):
    rbac = kubernetes.client.RbacAuthorizationV1Api(kube_api)
    kubernetes.client.CoreV1Api(kube_api).create_namespaced_service_account(
        k8s_namespace, {"metadata": {"name": "reader"}}
    )
    rbac.create_namespaced_role(
        k8s_namespace,
        {"metadata": {"name": "secrets"}, "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]},
    )
    rbac.create_namespaced_role_binding(
        k8s_namespace,
        {
            "metadata": {"name": "reader-secrets"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "secrets"},
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": k8s_namespace}],
        },
    )
    who = f"--as=system:serviceaccount:{k8s_namespace}:reader"
    assert can_i(control_plane, "list", "secrets", "-n", k8s_namespace, who) == "yes"
    assert can_i(control_plane, "delete", "secrets", "-n", k8s_namespace, who) == "no"
