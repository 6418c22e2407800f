"""What a test node may never change on the machine: a snapshot taken before the node starts and
compared after it stops (node.py). Covers the kubelet's sysctls, the netfilter rules, mounts,
top-level cgroups, network links and the fixed paths a kubelet and containerd write by default."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

SYSCTLS = (
    "vm/overcommit_memory",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
    "net/ipv4/ip_forward",
    "net/ipv4/conf/all/route_localnet",
    "net/bridge/bridge-nf-call-iptables",
)
# The places a kubelet, containerd, runc, CNI plugins or kube-proxy write by default, whatever
# their configuration says (a whole-directory listing would also catch other programs installing
# themselves on a shared machine meanwhile).
WATCHED_PATHS = (
    "/run/containerd", "/run/netns", "/run/runc", "/run/xtables.lock", "/run/mount", "/run/calico",
    "/var/lib/kubelet", "/var/lib/containerd", "/var/lib/cni", "/var/lib/kube-proxy",
    "/var/log/pods", "/var/log/containers",
    "/opt/cni", "/opt/containerd", "/usr/libexec/kubernetes", "/etc/cni", "/etc/containerd", "/etc/kubernetes",
)
CGROUP = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class HostState:
    sysctls: dict[str, str]
    netfilter: str
    mounts: frozenset[str]
    cgroups: frozenset[str]
    links: frozenset[str]
    paths: frozenset[str]

    def changes_since(self, before: HostState, *, others: re.Pattern[str] | None = None) -> list[str]:
        """Human-readable differences from `before` (empty when the machine is as it was).
        `others` matches items of other sessions' nodes (or image builds) that may come and go
        meanwhile; they are not this session's changes."""
        out = [f"sysctl {k}: {before.sysctls[k]} -> {v}" for k, v in self.sysctls.items() if before.sysctls.get(k) != v]
        if self.netfilter != before.netfilter:
            out.append("the machine's iptables/nftables rules changed")
        for label, now, then in (
            ("mount", self.mounts, before.mounts),
            ("cgroup", self.cgroups, before.cgroups),
            ("network link", self.links, before.links),
            ("path", self.paths, before.paths),
        ):
            out += [f"{label} added: {x}" for x in sorted(now - then) if not (others and others.search(x))]
            out += [f"{label} removed: {x}" for x in sorted(then - now) if not (others and others.search(x))]
        return out


def snapshot() -> HostState:
    return HostState(
        sysctls={k: _read(Path("/proc/sys") / k) for k in SYSCTLS},
        netfilter=_netfilter(),
        mounts=frozenset(line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()),
        cgroups=frozenset(
            f"{h.name}/{c.name}" for h in CGROUP.iterdir() if h.is_dir() for c in h.iterdir() if c.is_dir()
        ),
        links=frozenset(
            line.split(":")[1].strip().split("@")[0]
            for line in subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout.splitlines()
        ),
        paths=frozenset(p for p in WATCHED_PATHS if Path(p).exists()),
    )


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return "<absent>"


def _netfilter() -> str:
    parts = []
    for cmd in (["iptables-save"], ["ip6tables-save"], ["nft", "list", "ruleset"]):
        try:
            text = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.TimeoutExpired):
            continue
        # comments carry timestamps, counters move with traffic: neither is a change of rules
        text = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
        parts.append(re.sub(r"\[\d+:\d+\]|packets \d+ bytes \d+", "", text))
    return "\n".join(parts)
