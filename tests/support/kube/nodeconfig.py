"""The configuration files of the test node (node.py): containerd, CNI, kubelet and kube-proxy.

Every path lives under the node's session directory; each setting that departs from a default says
why (see the real-node notes: the sysctl, fixed-path, CAP_SYS_RESOURCE and cgroup v1 walls).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass
class NodeLayout:
    """Where everything of one node session lives, and its addresses."""

    root: Path  # the session directory (short: unix socket paths are limited to 108 bytes)
    containerd_root: Path  # images and snapshots; may be a cache shared between sessions
    name: str
    node_ip: str  # the node's end of the veth pair (inside its network namespace)
    host_ip: str  # the host's end: where pods reach the apiserver forwarder and test servers
    pod_cidr: str
    bridge: str
    cgroup_root: str  # e.g. /trainyard-ab12cd, created in every cgroup v1 hierarchy
    sandbox_image: str

    @property
    def containerd_sock(self) -> Path:
        return self.root / "containerd.sock"

    @property
    def cni_conf_dir(self) -> Path:
        return self.root / "cni" / "net.d"

    @property
    def kubelet_dir(self) -> Path:
        return self.root / "kubelet"

    @property
    def pod_logs_dir(self) -> Path:
        return self.root / "var-log" / "pods"


def containerd_toml(n: NodeLayout) -> str:
    # Config version 4 (containerd 2.4's `config default`). restrict_oom_score_adj: no
    # CAP_SYS_RESOURCE here; no AppArmor in this kernel; network namespaces are mounted under the
    # state dir, not /run/netns; the opt path and shim sockets live in the session too (the shim
    # socket dir must be at most 42 bytes long: the session dir is short).
    state = n.root / "containerd-state"
    return f"""version = 4
root = '{n.containerd_root}'
state = '{state}'
disabled_plugins = ['io.containerd.nri.v1.nri']
imports = []

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = '{n.sandbox_image}'

  [plugins.'io.containerd.cri.v1.runtime']
    disable_apparmor = true
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true
    cdi_spec_dirs = []
    enable_criu = false
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = 'io.containerd.runc.v2'
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = '/usr/sbin/runc'
          Root = '{n.root / "runc"}'
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ['/usr/lib/cni']
      conf_dir = '{n.cni_conf_dir}'
      max_conf_num = 1

  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = '127.0.0.1'
    stream_server_port = '0'

  [plugins.'io.containerd.internal.v1.opt']
    path = '{n.root / "opt"}'

  [plugins.'io.containerd.server.v1.grpc']
    address = '{n.containerd_sock}'

  [plugins.'io.containerd.server.v1.ttrpc']
    address = '{n.containerd_sock}.ttrpc'

  [plugins.'io.containerd.shim.v1.manager']
    socket_dir = '{n.root / "s"}'
"""


def cni_conflist(n: NodeLayout) -> str:
    # A bridge of the node's own name (inside the node's network namespace anyway), the pods'
    # gateway; ipMasq off: pods talk to the host end of the veth pair, nothing further.
    return json.dumps(
        {
            "cniVersion": "1.0.0",
            "name": "trainyard",
            "plugins": [
                {
                    "type": "bridge",
                    "bridge": n.bridge,
                    "isGateway": True,
                    "ipMasq": False,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": n.pod_cidr}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": str(n.root / "cni" / "ipam"),
                    },
                },
                {"type": "loopback"},
            ],
        },
        indent=2,
    )


def kubelet_yaml(n: NodeLayout, *, ca: Path, serving_cert: Path, serving_key: Path, resolv_conf: Path) -> str:
    # protectKernelDefaults: the kubelet refuses to start rather than write kernel sysctls (node.py
    # bind-mounts the values it checks inside the node's mount namespace). makeIPTablesUtilChains
    # off and oomScoreAdj 0: nothing the machine would keep. cgroup v1 with the cgroupfs driver.
    return f"""apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: {n.node_ip}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {{enabled: false}}
  webhook: {{enabled: false}}
  x509: {{clientCAFile: {ca}}}
authorization: {{mode: AlwaysAllow}}
tlsCertFile: {serving_cert}
tlsPrivateKeyFile: {serving_key}
containerRuntimeEndpoint: unix://{n.containerd_sock}
cgroupDriver: cgroupfs
cgroupRoot: {n.cgroup_root}
cgroupsPerQOS: true
failCgroupV1: false
failSwapOn: false
protectKernelDefaults: true
makeIPTablesUtilChains: false
oomScoreAdj: 0
podLogsDir: {n.pod_logs_dir}
volumePluginDir: {n.root / "kubelet-plugins"}
resolvConf: {resolv_conf}
clusterDomain: cluster.local
registerNode: true
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {{memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}}
evictionPressureTransitionPeriod: 5s
nodeStatusUpdateFrequency: 5s
syncFrequency: 5s
fileCheckFrequency: 5s
localStorageCapacityIsolation: false
"""


def kube_proxy_yaml(n: NodeLayout, kubeconfig: Path) -> str:
    # Runs inside the node's network namespace: its iptables rules and sysctls are that namespace's.
    # conntrack sizing is skipped (those sysctls belong to the machine); masqueradeAll so a pod that
    # reaches a Service backed by a pod on the same bridge gets its replies through conntrack.
    return f"""apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {{kubeconfig: {kubeconfig}}}
mode: iptables
hostnameOverride: {n.name}
bindAddress: {n.node_ip}
clusterCIDR: {n.pod_cidr}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
iptables: {{masqueradeAll: true, syncPeriod: 5s, minSyncPeriod: 0s}}
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
"""
