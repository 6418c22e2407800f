"""Turns a Pod into what local processes need: an environment, an argv, a working dir and a
local folder for every volume. Used by podrunner.py, which runs the result.

How a container maps onto a local process (the images are never run, only logged):
- argv is `command + args`, with `$(VAR)` expanded like the kubelet does; the executable is looked
  up first in the project virtualenv's bin dir, then on PATH (an image path such as
  /usr/local/bin/python is looked up by its basename).
- every volume is a local folder under the runner's work dir: a PVC is `pvc/<ns>/<claim>`, shared
  by every pod that mounts it (so checkpoints survive a retry); emptyDir, hostPath and the file
  volumes (configMap, secret, downwardAPI, projected incl. service-account tokens) live per pod.
- processes cannot write `/checkpoints`, so every occurrence of a mount path as a path prefix in
  env values, command and args (`--dir=/checkpoints/run-1`) is rewritten to the local folder.
  Code that hard-codes a mount path elsewhere (a config file, a Python default) is not rewritten.
- env is `envFrom` then `env` (literal values, secretKeyRef, configMapKeyRef, fieldRef,
  resourceFieldRef), on top of a small base: PATH (venv first), HOME, LANG, HOSTNAME and
  KUBERNETES_SERVICE_HOST/PORT pointing at the test apiserver.
"""

from __future__ import annotations

import base64
import logging
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from kubernetes.utils import parse_quantity

from .rest import KubeError, KubeRest

log = logging.getLogger(__name__)

POD_IP = "127.0.0.1"
_BASE_ENV_KEYS = ("HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER")
_VAR_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


class ConfigMissing(Exception):
    """A Secret, ConfigMap or key the pod needs does not exist yet (the kubelet reports
    CreateContainerConfigError and retries)."""


class NotRunnable(Exception):
    """The container cannot become a local process (no command, executable not found)."""


@dataclass
class ContainerPlan:
    name: str
    image: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    log_path: Path
    error: str = ""  # set when the container cannot run: reported as StartError


@dataclass
class PodPlan:
    dir: Path
    volumes: dict[str, Path] = field(default_factory=dict)
    init_containers: list[ContainerPlan] = field(default_factory=list)
    containers: list[ContainerPlan] = field(default_factory=list)


def pvc_dir(work_dir: Path, namespace: str, claim: str) -> Path:
    return work_dir / "pvc" / namespace / claim


def expand_refs(text: str, env: dict[str, str]) -> str:
    """The kubelet's `$(VAR)` expansion: a defined VAR is replaced, an undefined one kept, `$$` is `$`."""
    return _VAR_REF.sub(lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)


def rewrite_mount_paths(text: str, mounts: dict[str, Path]) -> str:
    """Replaces each mount path that starts a path in `text` by its local folder, in one pass
    (longest mount first), so `/data` does not match inside `/database` or a replaced path."""
    paths = sorted((m.rstrip("/") for m in mounts if m.rstrip("/")), key=len, reverse=True)
    if not paths:
        return text
    local = {m.rstrip("/"): str(p) for m, p in mounts.items()}
    pattern = re.compile(r"(?<![\w./-])(" + "|".join(re.escape(p) for p in paths) + r")(?=/|$|[^\w.-])")
    return pattern.sub(lambda m: local[m.group(1)], text)


def resolve_executable(cmd0: str, venv_bin: Path, rewritten: bool) -> str:
    if rewritten:  # a script inside a mounted volume: the local path is the real one
        return cmd0
    name = Path(cmd0).name
    for directory in [str(venv_bin), *os.environ.get("PATH", "").split(os.pathsep)]:
        candidate = Path(directory) / name
        if directory and candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    if "/" in cmd0 and os.access(cmd0, os.X_OK):
        return cmd0
    raise NotRunnable(f"executable {cmd0!r} not found in {venv_bin} or on PATH")


class PodTranslator:
    """Builds a PodPlan; reads Secrets, ConfigMaps and service-account tokens through `rest`."""

    def __init__(self, rest: KubeRest, work_dir: Path, venv_bin: Path, base_env: dict[str, str]) -> None:
        self.rest = rest
        self.work_dir = work_dir
        self.venv_bin = venv_bin
        self.base_env = base_env

    def plan(self, pod: dict, node: dict) -> PodPlan:
        meta, spec = pod["metadata"], pod["spec"]
        ns, name = meta["namespace"], meta["name"]
        plan = PodPlan(dir=self.work_dir / "pods" / ns / f"{name}-{meta['uid'][:8]}")
        for vol in spec.get("volumes", []):
            plan.volumes[vol["name"]] = self._volume(pod, vol, plan.dir)
        logs = self.work_dir / "logs" / ns / name
        logs.mkdir(parents=True, exist_ok=True)
        for key, target in (("initContainers", plan.init_containers), ("containers", plan.containers)):
            for c in spec.get(key, []):
                target.append(self._container(pod, c, plan, node, logs / f"{c['name']}.log"))
        return plan

    # -- containers -----------------------------------------------------------------------
    def _container(self, pod: dict, c: dict, plan: PodPlan, node: dict, log_path: Path) -> ContainerPlan:
        mounts = {}
        for m in c.get("volumeMounts", []):
            local = plan.volumes[m["name"]] / m.get("subPath", "")
            local.mkdir(parents=True, exist_ok=True)
            mounts[m["mountPath"]] = local
        env = self._env(pod, c, node)
        # Only the pod's own values name paths inside the container; the runner's base environment
        # (PATH, PYTHONPATH...) is host paths, which a mount at /tmp would otherwise rewrite.
        env = {k: v if self.base_env.get(k) == v else rewrite_mount_paths(v, mounts) for k, v in env.items()}
        argv = [rewrite_mount_paths(expand_refs(a, env), mounts) for a in c.get("command", []) + c.get("args", [])]
        cwd = plan.dir / "cwd"
        if c.get("workingDir"):
            local_wd = rewrite_mount_paths(c["workingDir"], mounts)
            if local_wd != c["workingDir"]:
                cwd = Path(local_wd)
        cwd.mkdir(parents=True, exist_ok=True)
        out = ContainerPlan(c["name"], c.get("image", ""), argv, env, cwd, log_path)
        try:
            if not c.get("command"):
                raise NotRunnable("no `command`: the pod runner runs commands, not images")
            first = c["command"][0]
            argv[0] = resolve_executable(argv[0], self.venv_bin, rewritten=argv[0] != expand_refs(first, env))
        except NotRunnable as e:
            out.error = str(e)
        return out

    def _env(self, pod: dict, c: dict, node: dict) -> dict[str, str]:
        ns = pod["metadata"]["namespace"]
        env = dict(self.base_env)
        env["HOSTNAME"] = pod["metadata"]["name"]
        for src in c.get("envFrom", []):
            prefix = src.get("prefix", "")
            if "configMapRef" in src:
                data = self._config_map(ns, src["configMapRef"])
            else:
                data = self._secret(ns, src["secretRef"])
            env.update({prefix + k: v for k, v in data.items()})
        for var in c.get("env", []):
            if "valueFrom" not in var:
                env[var["name"]] = expand_refs(var.get("value", ""), env)
                continue
            ref = var["valueFrom"]
            if "fieldRef" in ref:
                value = field_value(pod, ref["fieldRef"]["fieldPath"])
            elif "resourceFieldRef" in ref:
                value = resource_value(c, ref["resourceFieldRef"], node)
            else:
                kind = "configMapKeyRef" if "configMapKeyRef" in ref else "secretKeyRef"
                sel = ref[kind]
                data = (self._config_map if kind == "configMapKeyRef" else self._secret)(ns, sel)
                if sel["key"] not in data:
                    if sel.get("optional"):
                        continue
                    raise ConfigMissing(f"key {sel['key']!r} not in {kind[:-6]} {sel['name']!r}")
                value = data[sel["key"]]
            env[var["name"]] = value
        return env

    # -- volumes --------------------------------------------------------------------------
    def _volume(self, pod: dict, vol: dict, pod_dir: Path) -> Path:
        ns = pod["metadata"]["namespace"]
        if "persistentVolumeClaim" in vol:
            d = pvc_dir(self.work_dir, ns, vol["persistentVolumeClaim"]["claimName"])
        elif "hostPath" in vol:
            d = self.work_dir / "hostpath" / vol["hostPath"]["path"].strip("/")
        else:
            d = pod_dir / "volumes" / vol["name"]
        d.mkdir(parents=True, exist_ok=True)
        files: dict[str, bytes] = {}
        if "configMap" in vol:
            files = _select(self._config_map(ns, vol["configMap"], raw=True), vol["configMap"])
        elif "secret" in vol:
            sel = dict(vol["secret"], name=vol["secret"]["secretName"])
            files = _select(self._secret(ns, sel, raw=True), sel)
        elif "downwardAPI" in vol:
            files = {
                i["path"]: field_value(pod, i["fieldRef"]["fieldPath"]).encode()
                for i in vol["downwardAPI"].get("items", [])
                if "fieldRef" in i
            }
        elif "projected" in vol:
            files = self._projected(pod, vol["projected"])
        elif not {"emptyDir", "persistentVolumeClaim", "hostPath", "ephemeral"} & vol.keys():
            log.warning("volume %s (%s) becomes an empty folder", vol["name"], sorted(vol))
        for rel, content in files.items():
            (d / rel).parent.mkdir(parents=True, exist_ok=True)
            (d / rel).write_bytes(content)
        return d

    def _projected(self, pod: dict, projected: dict) -> dict[str, bytes]:
        ns = pod["metadata"]["namespace"]
        files: dict[str, bytes] = {}
        for src in projected.get("sources", []):
            if "serviceAccountToken" in src:
                tok = src["serviceAccountToken"]
                files[tok["path"]] = self._token(pod, tok).encode()
            elif "configMap" in src:
                files.update(_select(self._config_map(ns, src["configMap"], raw=True), src["configMap"]))
            elif "secret" in src:
                files.update(_select(self._secret(ns, src["secret"], raw=True), src["secret"]))
            elif "downwardAPI" in src:
                files.update(
                    {
                        i["path"]: field_value(pod, i["fieldRef"]["fieldPath"]).encode()
                        for i in src["downwardAPI"].get("items", [])
                        if "fieldRef" in i
                    }
                )
        return files

    def _token(self, pod: dict, source: dict) -> str:
        meta = pod["metadata"]
        sa = pod["spec"].get("serviceAccountName") or "default"
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {
                "audiences": [source["audience"]] if source.get("audience") else [],
                "expirationSeconds": source.get("expirationSeconds", 3607),
                "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": meta["name"], "uid": meta["uid"]},
            },
        }
        resp = self.rest.post(f"/api/v1/namespaces/{meta['namespace']}/serviceaccounts/{sa}/token", body)
        return resp["status"]["token"]

    def _config_map(self, ns: str, sel: dict, raw: bool = False) -> dict:
        obj = self._read(f"/api/v1/namespaces/{ns}/configmaps/{sel['name']}", sel, "ConfigMap")
        data = {k: v.encode() if raw else v for k, v in obj.get("data", {}).items()}
        data.update(
            {
                k: base64.b64decode(v) if raw else base64.b64decode(v).decode(errors="replace")
                for k, v in obj.get("binaryData", {}).items()
            }
        )
        return data

    def _secret(self, ns: str, sel: dict, raw: bool = False) -> dict:
        obj = self._read(f"/api/v1/namespaces/{ns}/secrets/{sel['name']}", sel, "Secret")
        return {
            k: base64.b64decode(v) if raw else base64.b64decode(v).decode(errors="replace")
            for k, v in obj.get("data", {}).items()
        }

    def _read(self, path: str, sel: dict, kind: str) -> dict:
        try:
            return self.rest.get(path)
        except KubeError as e:
            if e.status != 404:
                raise
            if sel.get("optional"):
                return {}
            raise ConfigMissing(f"{kind} {sel['name']!r} not found") from None


def _select(data: dict[str, bytes], source: dict) -> dict[str, bytes]:
    """The files of a configMap/secret volume: every key, or only `items` (key -> path)."""
    if not source.get("items"):
        return dict(data)
    out = {}
    for item in source["items"]:
        if item["key"] in data:
            out[item["path"]] = data[item["key"]]
        elif not source.get("optional"):
            raise ConfigMissing(f"key {item['key']!r} not in {source.get('name')!r}")
    return out


def field_value(pod: dict, path: str) -> str:
    meta = pod["metadata"]
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if m:
        return meta.get(m.group(1), {}).get(m.group(2), "")
    values = {
        "metadata.name": meta["name"],
        "metadata.namespace": meta["namespace"],
        "metadata.uid": meta["uid"],
        "spec.nodeName": pod["spec"].get("nodeName", ""),
        "spec.serviceAccountName": pod["spec"].get("serviceAccountName", ""),
        "status.podIP": POD_IP,
        "status.podIPs": POD_IP,
        "status.hostIP": POD_IP,
        "status.hostIPs": POD_IP,
    }
    if path in ("metadata.labels", "metadata.annotations"):
        return "\n".join(f'{k}="{v}"' for k, v in sorted(meta.get(path.split(".")[1], {}).items()))
    if path not in values:
        log.warning("fieldRef %s is not supported: empty value", path)
    return values.get(path, "")


def resource_value(container: dict, ref: dict, node: dict) -> str:
    """resourceFieldRef: the container's limit/request (a missing limit is the node's allocatable),
    divided by `divisor` and rounded up, as the kubelet does."""
    kind, _, res = ref["resource"].partition(".")
    resources = container.get("resources", {})
    q = resources.get(kind, {}).get(res)
    if q is None:
        q = node["status"]["allocatable"].get(res, "0") if kind == "limits" else "0"
    divisor = parse_quantity(ref.get("divisor", "1"))
    return str(math.ceil(parse_quantity(q) / divisor))
