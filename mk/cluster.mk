# A real Kubernetes control plane for tests and development, built from the Go module proxy
# (scripts/k8s/). Included from the top Makefile.
#
# The cache location is resolved by scripts/k8s/build.sh alone ($TRAINYARD_CACHE, else
# ${XDG_CACHE_HOME:-$HOME/.cache}/trainyard), so `make`, pytest and cluster.py find the same binaries.

PY ?= .venv/bin/python

.PHONY: k8s-bins node-bins node-deps node-images cluster

# Debian packages the real node and the image builds need (root, like chromium and prometheus).
NODE_DEBS := runc containernetworking-plugins buildah debootstrap iptables

k8s-bins: ## Build kube-apiserver, kube-controller-manager, etcd and helm once (cached per version; ~7 min cold)
	@bash scripts/k8s/build.sh

node-bins: ## Build the node's containerd 2.x, kubelet, kube-scheduler, kube-proxy, kubectl and pause once (cached per version; ~12 CPU-min cold)
	@bash scripts/k8s/build.sh --node >/dev/null

node-deps: ## Install runc, CNI plugins, buildah and debootstrap if missing (apt; run as root)
	@missing=$$(for p in $(NODE_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then echo ">> installing $$missing (apt)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null) || \
	  { echo "could not install $$missing: run 'apt-get install $$missing' as root" >&2; exit 1; }; fi

node-images: node-bins node-deps images ## Import the built images into the node's cached containerd store (warm test sessions)
	@awk '{ print $$2 }' $(TRAINYARD_CACHE)/images/archives/$(IMAGE_TAG).list | xargs $(PY) -m tests.support.kube.node

cluster: k8s-bins node-deps node-bins images ## Run a local control plane + real node (containerd, kubelet) until Ctrl-C; kubeconfig in .dev/kubeconfig
	$(PY) scripts/k8s/cluster.py
