"""The real node's parts that need no cluster: its config files parse and keep every path inside
the session, the host-state check reports what changed (and ignores other sessions' nodes), and the
forwarder that exposes loopback servers to pods carries bytes both ways."""

from __future__ import annotations

import re
import socket
import threading
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.support.kube.hostcheck import HostState
from tests.support.kube.nodeconfig import NodeLayout, containerd_toml, kube_proxy_yaml, kubelet_yaml
from tests.support.kube.tcpforward import TcpForwarder

pytestmark = pytest.mark.unit

LAYOUT = NodeLayout(
    root=Path("/tmp/tyn-abc"), containerd_root=Path("/cache/node-containerd-root/root"), name="trainyard-node",
    node_ip="10.213.7.2", host_ip="10.213.7.1", pod_cidr="10.214.7.0/24", bridge="tyb0",
    cgroup_root="/trainyard-abc", sandbox_image="localhost/trainyard/pause:x",
)


def test_containerd_config_keeps_state_in_the_session_and_restricts_oom_score():
    conf = tomllib.loads(containerd_toml(LAYOUT))
    plugins = conf["plugins"]
    assert conf["state"].startswith("/tmp/tyn-abc/")
    assert plugins["io.containerd.server.v1.grpc"]["address"] == "/tmp/tyn-abc/containerd.sock"
    assert plugins["io.containerd.internal.v1.opt"]["path"].startswith("/tmp/tyn-abc/")
    runtime = plugins["io.containerd.cri.v1.runtime"]
    assert runtime["restrict_oom_score_adj"] is True and runtime["netns_mounts_under_state_dir"] is True
    assert runtime["cni"]["conf_dir"].startswith("/tmp/tyn-abc/")
    assert plugins["io.containerd.cri.v1.images"]["pinned_images"]["sandbox"] == LAYOUT.sandbox_image


def test_kubelet_config_protects_kernel_defaults_and_writes_no_iptables():
    conf = yaml.safe_load(kubelet_yaml(LAYOUT, ca=Path("/ca"), serving_cert=Path("/c"), serving_key=Path("/k"),
                                       resolv_conf=Path("/r")))
    assert conf["protectKernelDefaults"] is True and conf["makeIPTablesUtilChains"] is False
    assert conf["cgroupRoot"] == "/trainyard-abc" and conf["failCgroupV1"] is False
    assert conf["oomScoreAdj"] == 0 and conf["readOnlyPort"] == 0
    assert conf["podLogsDir"].startswith("/tmp/tyn-abc/") and conf["volumePluginDir"].startswith("/tmp/tyn-abc/")


def test_kube_proxy_config_leaves_conntrack_sysctls_alone():
    conf = yaml.safe_load(kube_proxy_yaml(LAYOUT, Path("/kc")))
    assert conf["conntrack"]["maxPerCore"] == 0 and conf["conntrack"]["min"] == 0
    assert conf["clusterCIDR"] == LAYOUT.pod_cidr and conf["iptables"]["masqueradeAll"] is True


def state(**changes) -> HostState:
    base = dict(sysctls={"vm/overcommit_memory": "0"}, netfilter="", mounts=frozenset({"/"}),
                cgroups=frozenset({"memory/user.slice"}), links=frozenset({"lo", "eth0"}),
                paths=frozenset({"/run/containerd"}))
    return HostState(**{**base, **changes})


def test_host_check_reports_every_kind_of_change():
    before = state()
    after = state(sysctls={"vm/overcommit_memory": "1"}, netfilter="-A KUBE-SERVICES", mounts=frozenset({"/", "/x"}),
                  cgroups=frozenset(), links=frozenset({"lo", "eth0", "tyhabc"}),
                  paths=frozenset({"/run/containerd", "/var/lib/cni"}))
    changes = after.changes_since(before)
    assert "sysctl vm/overcommit_memory: 0 -> 1" in changes
    assert "the machine's iptables/nftables rules changed" in changes
    assert {"mount added: /x", "cgroup removed: memory/user.slice", "network link added: tyhabc",
            "path added: /var/lib/cni"} <= set(changes)
    assert state().changes_since(before) == []


def test_host_check_ignores_other_sessions_nodes_but_not_its_own():
    others = re.compile(r"^(tyh(?!abc)|.*/trainyard-(?!abc))")
    after = state(links=frozenset({"lo", "eth0", "tyhzzz", "tyhabc"}),
                  cgroups=frozenset({"memory/user.slice", "memory/trainyard-zzz"}))
    assert after.changes_since(state(), others=others) == ["network link added: tyhabc"]


def test_forwarder_carries_bytes_both_ways():
    with socket.create_server(("127.0.0.1", 0)) as upstream:
        port = upstream.getsockname()[1]

        def echo():
            conn, _ = upstream.accept()
            with conn:
                conn.sendall(conn.recv(1024).upper())

        threading.Thread(target=echo, daemon=True).start()
        with socket.socket() as probe:
            probe.bind(("127.0.0.2", 0))
            listen_port = probe.getsockname()[1]
        fwd = TcpForwarder(("127.0.0.2", listen_port), ("127.0.0.1", port)).start()
        try:
            with socket.create_connection(("127.0.0.2", listen_port), timeout=5) as c:
                c.sendall(b"hello pod")
                assert c.recv(1024) == b"HELLO POD"
        finally:
            fwd.stop()
