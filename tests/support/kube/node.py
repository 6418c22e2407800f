"""A real Kubernetes node joined to the test control plane: containerd 2.x + runc + CNI bridge +
kubelet + kube-proxy, and a kube-scheduler. Pods run as real containers from imported images.

The node lives in namespaces the tests create and leaves the machine as it was (hostcheck.py):

- a holder process (`unshare --mount --net`) owns a private mount namespace and a network
  namespace; containerd, the shims, runc, the CNI plugins, the kubelet and kube-proxy are started
  inside both with nsenter;
- in that mount namespace small files holding 1, 10, 1 are bind-mounted over the three kernel
  sysctls the kubelet checks (`protectKernelDefaults`), and per-session folders over /run,
  /var/log and /var/lib (paths the kubelet and containerd write whatever their config says);
- a veth pair joins the network namespace to the machine: the host end is the node's gateway,
  where a forwarder exposes the loopback-only apiserver (the `kubernetes` Service's endpoint) and
  where test servers for pods listen; kube-proxy's iptables rules stay inside the namespace;
- the kubelet's cgroupRoot is a per-session cgroup in every v1 hierarchy, removed on stop.

    with ControlPlane() as cp, Node(cp) as node:
        node.import_images([archive])   # docker-archives from scripts/images/build.sh
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Self

import kubernetes

from . import hostcheck, pki
from .controlplane import BUILD_SCRIPT, ControlPlane, ControlPlaneError, die_with_parent
from .nodeconfig import NodeLayout, cni_conflist, containerd_toml, kube_proxy_yaml, kubelet_yaml
from .tcpforward import TcpForwarder

log = logging.getLogger(__name__)

NODE_BINARIES = ("containerd", "containerd-shim-runc-v2", "ctr", "kubelet", "kube-scheduler", "kube-proxy", "pause")
HOST_TOOLS = ("/usr/sbin/runc", "/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback")
# The kubelet's protectKernelDefaults values (pkg/kubelet/cm/container_manager_linux.go).
KERNEL_DEFAULTS = {"vm/overcommit_memory": "1", "kernel/panic": "10", "kernel/panic_on_oops": "1"}
CGROUP = Path("/sys/fs/cgroup")
PAUSE_TAG = "localhost/trainyard/pause:3.10-trainyard"


class NodeError(RuntimeError):
    pass


def default_node_bin_dir() -> Path:
    out = subprocess.run(["bash", str(BUILD_SCRIPT), "--node-dir"], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip())


def missing_node_parts(bin_dir: Path) -> list[str]:
    missing = [b for b in NODE_BINARIES if not os.access(bin_dir / b, os.X_OK)]
    missing += [t for t in HOST_TOOLS if not os.access(t, os.X_OK)]
    if os.geteuid() != 0:
        missing.append("root")
    return missing


class Node:
    """One node named `trainyard-node`; start() blocks until it is Ready."""

    def __init__(
        self, control_plane: ControlPlane, bin_dir: Path | None = None, *, start_timeout: float = 120
    ) -> None:
        self.cp = control_plane
        self.bin_dir = Path(bin_dir) if bin_dir else default_node_bin_dir()
        self.start_timeout = start_timeout
        self.name = "trainyard-node"
        sid = f"{random.randrange(16**6):06x}"
        octet = random.randrange(1, 250)
        # Short: containerd's socket paths must fit in 108 bytes.
        self.root = Path(tempfile.mkdtemp(prefix=f"tyn-{sid}-", dir="/tmp"))
        self.layout = NodeLayout(
            root=self.root,
            containerd_root=self.root / "containerd",
            name=self.name,
            node_ip=f"10.213.{octet}.2",
            host_ip=f"10.213.{octet}.1",
            pod_cidr=f"10.214.{octet}.0/24",
            bridge="tyb0",
            cgroup_root=f"/trainyard-{sid}",
            sandbox_image=PAUSE_TAG,
        )
        self.host_link = f"tyh{sid}"
        self._holder: subprocess.Popen | None = None
        self._procs: dict[str, subprocess.Popen] = {}
        self._logs: dict[str, Path] = {}
        self._forwarder: TcpForwarder | None = None
        self._exposed: dict[int, TcpForwarder] = {}
        self._cache_lock: int | None = None
        self._before: hostcheck.HostState | None = None
        self.host_changes: list[str] = []

    # -- public ---------------------------------------------------------------------------
    @property
    def host_ip(self) -> str:
        """The address pods reach the machine at (servers for pods listen here)."""
        return self.layout.host_ip

    def start(self) -> Self:
        missing = missing_node_parts(self.bin_dir)
        if missing:
            raise NodeError(f"missing {', '.join(missing)}: run `make node-bins node-deps` (as root)")
        self._before = hostcheck.snapshot()
        started = time.monotonic()
        try:
            self._start_holder()
            self._setup_mounts()
            self._setup_network()
            self._setup_cgroups()
            self._start_containerd()
            self.import_images([self._pause_archive()])
            self._start_forwarder()
            self._point_kubernetes_service()
            self._start_kubelet()
            self._start_kube_proxy()
            self._start_scheduler()
            self._wait_ready()
        except BaseException:
            self._report_failure()
            self.stop()
            raise
        log.info("node %s ready in %.1fs", self.name, time.monotonic() - started)
        return self

    def stop(self) -> None:
        """Tear down in order: kubelet and kube-proxy, every container, containerd and its shims,
        the holder (its namespaces and mounts go with it), the veth pair, the cgroups, the files."""
        for name in ("kube-scheduler", "kube-proxy", "kubelet"):
            if name in self._procs:
                _stop(self._procs.pop(name), name)
        self._kill_cgroup_tasks()
        if "containerd" in self._procs:
            _stop(self._procs.pop("containerd"), "containerd")
        self._kill_namespace_members()
        if self._holder is not None:
            _stop(self._holder, "namespace holder")
            self._holder = None
        for fwd in [*self._exposed.values(), *([self._forwarder] if self._forwarder else [])]:
            fwd.stop()
        self._exposed, self._forwarder = {}, None
        subprocess.run(["ip", "link", "del", self.host_link], capture_output=True)
        self._remove_cgroups()
        if self._cache_lock is not None:
            os.close(self._cache_lock)
            self._cache_lock = None
        shutil.rmtree(self.root, ignore_errors=True)
        if self._before is not None:
            # other sessions' nodes (tyh<id> links, trainyard-<id> cgroups) and buildah's mounts
            sid = self.host_link[3:]
            others = re.compile(rf"^(tyh(?!{sid})|.*/trainyard-(?!{sid}))|/images/storage/")
            self.host_changes = hostcheck.snapshot().changes_since(self._before, others=others)
            for change in self.host_changes:
                log.error("the node left the machine changed: %s", change)
            self._before = None

    @classmethod
    def preload_images(cls, archives: list[Path], bin_dir: Path | None = None) -> None:
        """Import images into the cached containerd store without a cluster (`make node-images`),
        so a test session's node finds them unpacked. Only containerd starts, in the same confined
        namespaces as a node's."""
        node = cls(control_plane=None, bin_dir=bin_dir)  # type: ignore[arg-type]
        node._before = hostcheck.snapshot()
        try:
            node._start_holder()
            node._setup_mounts()
            node._setup_network()
            node._setup_cgroups()
            node._start_containerd()
            node.import_images([node._pause_archive(), *archives])
        except BaseException:
            node._report_failure()
            raise
        finally:
            node.stop()
        if node.host_changes:
            raise NodeError(f"importing images changed the machine: {node.host_changes}")

    def expose(self, port: int) -> str:
        """Make a server on 127.0.0.1:`port` reachable from pods (once per port); returns the
        address pods use (host:port on the host end of the node's veth pair)."""
        if port not in self._exposed:
            self._exposed[port] = TcpForwarder((self.layout.host_ip, port), ("127.0.0.1", port)).start()
        return f"{self.layout.host_ip}:{port}"

    def add_host_path_volume(
        self,
        name: str,
        path: Path,
        *,
        uid: int = 10001,
        storage: str = "10Gi",
        claim_ref: tuple[str, str] | None = None,
    ) -> None:
        """A ReadWriteMany hostPath PersistentVolume (the binder controller binds a claim to it:
        `claim_ref` (namespace, name) reserves it for one), owned by `uid` so the non-root images
        can write to it."""
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, uid, uid)
        spec: dict = {
            "capacity": {"storage": storage},
            "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "",
            "hostPath": {"path": str(path), "type": "Directory"},
        }
        if claim_ref:
            spec["claimRef"] = {"namespace": claim_ref[0], "name": claim_ref[1]}
        with self.cp.api_client() as api:
            kubernetes.client.CoreV1Api(api).create_persistent_volume(
                {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name}, "spec": spec}
            )

    def shared_claim(self, namespace: str, name: str, storage: str = "1Gi") -> Path:
        """A ReadWriteMany PersistentVolumeClaim `name` in `namespace`, bound to a hostPath volume
        of its own; returns that folder on this machine (what the pods see at their mount path)."""
        path = self.root / "volumes" / namespace / name
        self.add_host_path_volume(f"{namespace}-{name}", path, claim_ref=(namespace, name), storage=storage)
        with self.cp.api_client() as api:
            kubernetes.client.CoreV1Api(api).create_namespaced_persistent_volume_claim(namespace, {
                "metadata": {"name": name},
                "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "", "volumeName": f"{namespace}-{name}",
                         "resources": {"requests": {"storage": storage}}},
            })
        return path

    def volume_dir(self, namespace: str, name: str) -> Path:
        """The folder behind a claim made by shared_claim()."""
        return self.root / "volumes" / namespace / name

    def import_images(self, archives: list[Path]) -> None:
        """Import docker-archives into the node's containerd (k8s.io namespace), once each, after
        dropping the older builds they replace (first, so the disk never holds both). Only the
        unpacked snapshots stay: the layer blobs would hold the trainer's 6 GB a second time, so
        they are imported unreferenced (--discard-unpacked-layers, which ctr 2.x supports only in
        its client-side --local import) and collected once unpacked."""
        markers = self.layout.containerd_root / "trainyard-imported"
        new = [a for a in archives if not (markers / a.name).exists()]
        if markers.exists() and new:
            self._drop_older_builds(markers, {a.name for a in archives})
        for archive in new:
            t0 = time.monotonic()
            self.ctr("images", "import", "--local", "--discard-unpacked-layers", str(archive))
            markers.mkdir(parents=True, exist_ok=True)
            (markers / archive.name).touch()
            log.info("imported %s in %.1fs", archive.name, time.monotonic() - t0)
        if new:
            # the import's lease is deleted without a collection: a lease deleted with --sync runs one
            lease = self.ctr("leases", "create", "--expires", "1m").strip()
            self.ctr("leases", "delete", "--sync", lease)

    def _drop_older_builds(self, markers: Path, current: set[str]) -> None:
        """Delete the images of the earlier builds of `current`'s images, under every name: the CRI
        plugin keeps each one as `sha256:<id>` beside its tag, so its unpacked snapshots (6 GB for
        the trainer) would stay for ever. Archives are named `<image>-<first 16 hex of the id>.tar`."""
        names = {c.split("-")[0] for c in current}
        stale = [m for m in markers.iterdir() if m.name not in current and m.name.split("-")[0] in names]
        prefixes = {m.stem.split("-")[-1] for m in stale}
        listing = [line.split() for line in self.ctr("images", "ls").splitlines()[1:]]  # REF TYPE DIGEST ...
        digests = {cols[2] for cols in listing if cols[0].startswith("sha256:") and cols[0][7:23] in prefixes}
        refs = [cols[0] for cols in listing if cols[2] in digests]
        if refs:
            self.ctr("images", "rm", "--sync", *refs)  # --sync: containerd collects the blobs now
            log.info("removed %d older image build(s) from the node's containerd", len(refs))
        for marker in stale:
            marker.unlink()

    def ctr(self, *args: str) -> str:
        out = subprocess.run(
            [str(self.bin_dir / "ctr"), "--address", str(self.layout.containerd_sock), "-n", "k8s.io", *args],
            capture_output=True,
            text=True,
        )
        if out.returncode:
            raise NodeError(f"ctr {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout

    def in_node(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a command in the node's mount and network namespaces."""
        return subprocess.run(self._nsenter(*cmd), capture_output=True, text=True, check=check)

    def log_paths(self) -> dict[str, Path]:
        return dict(self._logs)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- steps ----------------------------------------------------------------------------
    def _nsenter(self, *cmd: str) -> list[str]:
        assert self._holder is not None
        return ["nsenter", "-t", str(self._holder.pid), "-m", "-n", "--", *cmd]

    def _start_holder(self) -> None:
        self._holder = subprocess.Popen(
            [*die_with_parent(), "unshare", "--mount", "--net", "--propagation", "private", "--", "sleep", "infinity"],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        own = os.readlink("/proc/self/ns/net")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{self._holder.pid}/ns/net") != own:
                    return
            time.sleep(0.05)
        raise NodeError("the namespace holder did not enter its namespaces")

    def _setup_mounts(self) -> None:
        r = self.root
        for d in ("sysctl", "run", "var-log/pods", "var-log/containers", "var-lib", "kubelet", "kubelet-plugins"):
            (r / d).mkdir(parents=True, exist_ok=True)
        script = ["set -e"]
        for key, value in KERNEL_DEFAULTS.items():
            f = r / "sysctl" / key.replace("/", ".")
            f.write_text(value + "\n")
            script.append(f"mount --bind {f} /proc/sys/{key}")
        for src, dst in (("run", "/run"), ("var-log", "/var/log"), ("var-lib", "/var/lib")):
            script.append(f"mount --bind {r / src} {dst}")
        subprocess.run(["nsenter", "-t", str(self._holder.pid), "-m", "--", "sh", "-c", "\n".join(script)], check=True)

    def _setup_network(self) -> None:
        n, pid = self.layout, str(self._holder.pid)
        host = [
            ["ip", "link", "add", self.host_link, "type", "veth", "peer", "name", "eth0", "netns", pid],
            ["ip", "addr", "add", f"{n.host_ip}/30", "dev", self.host_link],
            ["ip", "link", "set", self.host_link, "up"],
        ]
        inside = [
            ["ip", "link", "set", "lo", "up"],
            ["ip", "addr", "add", f"{n.node_ip}/30", "dev", "eth0"],
            ["ip", "link", "set", "eth0", "up"],
            ["ip", "route", "add", "default", "via", n.host_ip],
            # net.* sysctls are per network namespace: these are the node's own
            ["sysctl", "-qw", "net.ipv4.ip_forward=1"],
            ["sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1"],
        ]
        for cmd in host:
            subprocess.run(cmd, check=True, capture_output=True)
        for cmd in inside:
            subprocess.run(["nsenter", "-t", pid, "-n", "--", *cmd], check=True, capture_output=True)
        # the machine reaches pod IPs (port-forward-free browser tests) through the node's end
        subprocess.run(["ip", "route", "add", n.pod_cidr, "via", n.node_ip], check=True, capture_output=True)
        n.cni_conf_dir.mkdir(parents=True, exist_ok=True)
        (n.cni_conf_dir / "10-trainyard.conflist").write_text(cni_conflist(n))
        shutil.copy("/etc/resolv.conf", self.root / "resolv.conf")

    def _hierarchies(self) -> list[Path]:
        seen: dict[str, Path] = {}
        for h in sorted(CGROUP.iterdir()):
            if h.is_dir() and h.name != "unified":
                seen.setdefault(os.path.realpath(h), h)
        return list(seen.values())

    def _setup_cgroups(self) -> None:
        for h in self._hierarchies():
            d = h / self.layout.cgroup_root.lstrip("/")
            d.mkdir(exist_ok=True)
            if (h / "cpuset.cpus").exists():  # an empty cpuset admits no task
                for f in ("cpuset.cpus", "cpuset.mems"):
                    (d / f).write_text((h / f).read_text())

    def _start_containerd(self) -> None:
        n = self.layout
        self._use_image_cache()
        conf = self.root / "containerd.toml"
        conf.write_text(containerd_toml(n))
        env = {**os.environ, "PATH": f"{self.bin_dir}:{os.environ.get('PATH', '')}"}
        # inside the node's namespaces: the CNI plugins it runs make their bridge, and set
        # ip_forward, in the node's network namespace; its fixed paths land in the node's /run, /var
        self._spawn("containerd", self._nsenter(str(self.bin_dir / "containerd"), "--config", str(conf)), env=env)
        self._wait("containerd", lambda: n.containerd_sock.exists() and self.ctr("version") != "")

    def _use_image_cache(self) -> None:
        """Images and their unpacked snapshots survive between sessions in the cache, so a warm
        session imports nothing. One session at a time uses it (a lock); another gets its own."""
        from .controlplane import default_bin_dir

        cache = default_bin_dir().parents[1] / "node-containerd-root"
        cache.mkdir(parents=True, exist_ok=True)
        fd = os.open(cache / ".lock", os.O_CREAT | os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            log.info("the containerd image cache is in use by another session: importing into a private one")
            return
        self._cache_lock = fd
        self.layout.containerd_root = cache / "root"

    def _pause_archive(self) -> Path:
        """A docker-archive of the sandbox image, made here from the pause binary build.sh built."""
        binary = (self.bin_dir / "pause").read_bytes()
        layer = io.BytesIO()
        with tarfile.open(fileobj=layer, mode="w") as tar:
            info = tarfile.TarInfo("pause")
            info.size, info.mode = len(binary), 0o755
            tar.addfile(info, io.BytesIO(binary))
        layer_bytes = layer.getvalue()
        diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Entrypoint": ["/pause"], "User": "65535:65535"},
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            }
        ).encode()
        config_name = hashlib.sha256(config).hexdigest() + ".json"
        manifest = json.dumps([{"Config": config_name, "RepoTags": [PAUSE_TAG], "Layers": ["layer.tar"]}]).encode()
        path = self.root / f"pause-{diff_id[7:19]}.tar"
        with tarfile.open(path, "w") as tar:
            for name, data in (("layer.tar", layer_bytes), (config_name, config), ("manifest.json", manifest)):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return path

    def _start_forwarder(self) -> None:
        port = int(self.cp.server.rsplit(":", 1)[1])
        self.apiserver_port = port
        self._forwarder = TcpForwarder((self.layout.host_ip, port), ("127.0.0.1", port)).start()
        self.node_server = f"https://{self.layout.host_ip}:{port}"

    def _point_kubernetes_service(self) -> None:
        """The control plane runs without an endpoint reconciler (a loopback address cannot back
        a Service): give the `kubernetes` Service the forwarder's address, which pods can reach."""
        with self.cp.api_client() as api:
            disco = kubernetes.client.DiscoveryV1Api(api)
            body = {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": "kubernetes-trainyard-node",
                    "labels": {
                        "kubernetes.io/service-name": "kubernetes",
                        "endpointslice.kubernetes.io/managed-by": "trainyard-tests",
                    },
                },
                "addressType": "IPv4",
                "endpoints": [{"addresses": [self.layout.host_ip], "conditions": {"ready": True}}],
                "ports": [{"name": "https", "port": self.apiserver_port, "protocol": "TCP"}],
            }
            with contextlib.suppress(kubernetes.client.ApiException):
                disco.delete_namespaced_endpoint_slice(body["metadata"]["name"], "default")
            disco.create_namespaced_endpoint_slice("default", body)

    def _kubeconfig(self, name: str, subject: str) -> Path:
        pki_dir = self.root / "pki"
        pki_dir.mkdir(exist_ok=True)
        cert = pki.make_leaf(self.cp.ca, pki_dir, name, subject=subject)
        path = pki.write_kubeconfig(
            self.root / f"{name}.kubeconfig", server=self.node_server, ca=self.cp.ca.cert, client=cert, user=name
        )
        # the apiserver's certificate names 127.0.0.1, not the forwarder's address
        server = f"    server: {self.node_server}\n"
        path.write_text(path.read_text().replace(server, server + "    tls-server-name: localhost\n"))
        return path

    def _start_kubelet(self) -> None:
        n = self.layout
        kubeconfig = self._kubeconfig("kubelet", f"/O=system:nodes/CN=system:node:{self.name}")
        serving = pki.make_leaf(
            self.cp.ca, self.root / "pki", "kubelet-serving", subject=f"/CN={self.name}", server_names=(n.node_ip,)
        )
        conf = self.root / "kubelet.yaml"
        conf.write_text(
            kubelet_yaml(
                n, ca=self.cp.ca.cert, serving_cert=serving.cert, serving_key=serving.key,
                resolv_conf=self.root / "resolv.conf",
            )
        )
        self._spawn(
            "kubelet",
            self._nsenter(
                str(self.bin_dir / "kubelet"),
                f"--config={conf}",
                f"--kubeconfig={kubeconfig}",
                f"--hostname-override={self.name}",
                f"--node-ip={n.node_ip}",
                f"--root-dir={n.kubelet_dir}",
                f"--cert-dir={self.root / 'pki'}",
                "--v=1",
            ),
        )

    def _start_kube_proxy(self) -> None:
        kubeconfig = self._kubeconfig("kube-proxy", "/CN=system:kube-proxy")
        conf = self.root / "kube-proxy.yaml"
        conf.write_text(kube_proxy_yaml(self.layout, kubeconfig))
        self._spawn("kube-proxy", self._nsenter(str(self.bin_dir / "kube-proxy"), f"--config={conf}", "--v=1"))

    def _start_scheduler(self) -> None:
        pki_dir = self.root / "pki"
        cert = pki.make_leaf(self.cp.ca, pki_dir, "scheduler", subject="/CN=system:kube-scheduler")
        kubeconfig = pki.write_kubeconfig(
            self.root / "scheduler.kubeconfig", server=self.cp.server, ca=self.cp.ca.cert, client=cert,
            user="system:kube-scheduler",
        )
        self._spawn(
            "kube-scheduler",
            [str(self.bin_dir / "kube-scheduler"), f"--kubeconfig={kubeconfig}", "--leader-elect=false",
             "--secure-port=0", "--v=1"],
        )

    def _wait_ready(self) -> None:
        with self.cp.api_client() as api:
            core = kubernetes.client.CoreV1Api(api)

            def ready() -> bool:
                try:
                    node = core.read_node(self.name)
                except kubernetes.client.ApiException as e:
                    if e.status == 404:
                        return False
                    raise
                ready = any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])
                return ready and not any(t.key == "node.kubernetes.io/not-ready" for t in node.spec.taints or [])

            self._wait(f"node {self.name} Ready", ready)

    # -- teardown -------------------------------------------------------------------------
    def _cgroup_dirs(self) -> list[Path]:
        dirs = [h / self.layout.cgroup_root.lstrip("/") for h in self._hierarchies()]
        return [*dirs, CGROUP / "unified" / self.layout.cgroup_root.lstrip("/")]

    def _kill_cgroup_tasks(self) -> None:
        """Every container process is in the node's cgroup subtree: SIGKILL them (ours alone)."""
        for _ in range(20):
            pids = set()
            for top in self._cgroup_dirs():
                for d, _sub, files in os.walk(top):
                    if "cgroup.procs" in files:
                        with contextlib.suppress(OSError):
                            pids |= {int(p) for p in (Path(d) / "cgroup.procs").read_text().split()}
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)

    def _kill_namespace_members(self) -> None:
        """containerd's shims outlive containerd: SIGKILL what is left in the holder's mount namespace."""
        if self._holder is None:
            return
        try:
            ns = os.readlink(f"/proc/{self._holder.pid}/ns/mnt")
        except OSError:
            return
        for p in Path("/proc").iterdir():
            if p.name.isdigit() and int(p.name) != self._holder.pid:
                with contextlib.suppress(OSError):
                    if os.readlink(p / "ns" / "mnt") == ns:
                        os.kill(int(p.name), signal.SIGKILL)

    def _remove_cgroups(self) -> None:
        for top in self._cgroup_dirs():
            if not top.exists():
                continue
            for d, _sub, _files in os.walk(top, topdown=False):
                with contextlib.suppress(OSError):
                    os.rmdir(d)

    # -- processes ------------------------------------------------------------------------
    def _spawn(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> None:
        path = self.root / f"{name}.log"
        self._logs[name] = path
        with path.open("ab") as out:
            self._procs[name] = subprocess.Popen(
                [*die_with_parent(), *cmd],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.root,
                env=env,
            )
        log.info("started %s (pid %d), log %s", name, self._procs[name].pid, path)

    def _wait(self, what: str, probe) -> None:
        deadline = time.monotonic() + self.start_timeout
        last: object = None
        while time.monotonic() < deadline:
            for name, proc in self._procs.items():
                if proc.poll() is not None:
                    raise NodeError(f"{name} exited with {proc.returncode}; log: {self._logs[name]}")
            try:
                if probe():
                    return
            except (OSError, NodeError, kubernetes.client.ApiException) as e:
                last = e
            time.sleep(0.3)
        raise NodeError(f"{what} not ready after {self.start_timeout:.0f}s (last error: {last})")

    def _report_failure(self) -> None:
        for name, path in self._logs.items():
            tail = path.read_text(errors="replace").splitlines()[-25:] if path.exists() else []
            log.error("%s log %s, last lines:\n%s", name, path, "\n".join(tail))


def _stop(proc: subprocess.Popen, name: str, grace: float = 10.0) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0fs: SIGKILL", name, grace)
        except ProcessLookupError:
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


__all__ = ["ControlPlaneError", "Node", "NodeError", "default_node_bin_dir", "missing_node_parts"]


def main() -> int:
    """`python -m tests.support.kube.node ARCHIVE...`: preload images (make node-images)."""
    import sys

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    Node.preload_images([Path(a) for a in sys.argv[1:]])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
