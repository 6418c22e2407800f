"""A real Kubernetes control plane (controlplane.py) and a real node (node.py: containerd, runc,
kubelet, kube-proxy, kube-scheduler) running the project's images, for the k8s and chart test tiers
(fixtures.py) and `make cluster` (scripts/k8s/cluster.py)."""
