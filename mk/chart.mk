# The Helm chart (charts/trainyard), the container images and a kind cluster for users with Docker.
# Included from the top Makefile; tests live in tests/chart/.
#
# helm is built by scripts/k8s/build.sh --helm (from the Go module proxy, cached in
# $(TRAINYARD_CACHE)/helm-v$(HELM_VERSION)/); HELM_VERSION here must match the one there.

PY ?= .venv/bin/python
PYTEST ?= $(PY) -m pytest
# The cache root scripts/k8s/build.sh and the tests use (the top Makefile exports it).
TRAINYARD_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/trainyard
HELM_VERSION := 3.22.0
HELM := $(TRAINYARD_CACHE)/helm-v$(HELM_VERSION)/helm
KIND_VERSION := 0.33.0
CHART := charts/trainyard
# Images are tagged $(IMAGE_REPO)/{trainer,api,operator}:$(IMAGE_TAG).
IMAGE_REPO ?= trainyard
IMAGE_TAG ?= dev

.PHONY: helm prometheus images base-image kind-up chart-lint

$(HELM):
	@bash scripts/k8s/build.sh --helm >/dev/null

helm: $(HELM) ## Build helm v3.22.0 once (cached outside the repository)

prometheus: ## Install Debian's Prometheus for the dashboard test, if missing (apt; run as root)
	@command -v prometheus >/dev/null || { echo ">> installing prometheus (apt)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null) || \
	  { echo "could not install prometheus: run 'apt-get install prometheus' as root" >&2; exit 1; }; }

chart-lint: $(HELM) ## helm lint --strict the chart with its default values and every charts/trainyard/ci/*.yaml
	$(HELM) lint --strict $(CHART)
	@for f in $(CHART)/ci/*.yaml; do $(HELM) lint --strict $(CHART) --values $$f | tail -n 1 | sed "s|^|$$f: |" || exit 1; done

images: ## Build the trainer, API and operator images (docker or podman if one works, else buildah; IMAGE_TAG=dev)
	@set -o pipefail; IMAGE_REPO=$(IMAGE_REPO) IMAGE_TAG=$(IMAGE_TAG) bash scripts/images/build.sh | \
	  awk '{ printf "%-9s %8.1f MB  %5d s  %s\n", $$1, $$3 / 1e6, $$4, $$2 }'

base-image: ## Build the Python/Node base images from debootstrap (for buildah, when public bases cannot be pulled)
	@bash scripts/images/build.sh base

kind-up: $(HELM) images ## For a user with Docker: kind cluster, images, chart, smoke TrainingRun; prints the UI address
	@command -v kind >/dev/null || test -x $(TRAINYARD_CACHE)/kind-v$(KIND_VERSION)/kind || \
	  { echo ">> building kind v$(KIND_VERSION)"; GOBIN=$(TRAINYARD_CACHE)/kind-v$(KIND_VERSION) go install sigs.k8s.io/kind@v$(KIND_VERSION); }
	HELM=$(HELM) KIND=$$(command -v kind || echo $(TRAINYARD_CACHE)/kind-v$(KIND_VERSION)/kind) KUBECTL=$$(command -v kubectl || echo .venv/bin/kubectl) \
	  IMAGE_REPO=$(IMAGE_REPO) IMAGE_TAG=$(IMAGE_TAG) bash scripts/kind-up.sh
