"""A real Kubernetes control plane (controlplane.py) and a stand-in kubelet that runs pods as local
processes (podrunner.py), for the k8s test tier (fixtures.py) and `make cluster` (scripts/k8s/cluster.py)."""
