# A real Kubernetes control plane for tests and development, built from the Go module proxy
# (scripts/k8s/). Included from the top Makefile.
#
# The cache location is resolved by scripts/k8s/build.sh alone ($TRAINYARD_CACHE, else
# ${XDG_CACHE_HOME:-$HOME/.cache}/trainyard), so `make`, pytest and cluster.py find the same binaries.

PY ?= .venv/bin/python

.PHONY: k8s-bins cluster

k8s-bins: ## Build kube-apiserver, kube-controller-manager, etcd and helm once (cached per version; ~7 min cold)
	@bash scripts/k8s/build.sh

cluster: k8s-bins ## Run a local control plane + pod runner until Ctrl-C; kubeconfig in .dev/kubeconfig
	$(PY) scripts/k8s/cluster.py
