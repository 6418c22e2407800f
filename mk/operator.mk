# The TrainingRun operator (operator/): run it against a cluster, apply its CRD, benchmark it.
# Included from the top Makefile (PY, PYTEST, install come from there).
#
#   make cluster           # in one shell: a local control plane + pod runner, .dev/kubeconfig
#   make operator-run      # in another: the CRD applied, then the operator in the foreground
#   kubectl --kubeconfig .dev/kubeconfig apply -f examples/trainingrun-smoke.yaml

PY ?= .venv/bin/python
KUBECTL ?= .venv/bin/kubectl
OPERATOR_KUBECONFIG ?= $(or $(KUBECONFIG),$(CURDIR)/.dev/kubeconfig)
OPERATOR_CRD := charts/trainyard/crds/trainingruns.trainyard.dev.yaml

.PHONY: crd operator-crd operator-run operator-bench test-operator

crd: install ## Regenerate the TrainingRun CRD from the operator's spec and status models
	$(PY) -m trainyard_operator.crd > $(OPERATOR_CRD)

operator-crd: install ## Apply the TrainingRun CRD to $KUBECONFIG's cluster (default .dev/kubeconfig)
	$(KUBECTL) --kubeconfig $(OPERATOR_KUBECONFIG) apply -f $(OPERATOR_CRD)
	$(KUBECTL) --kubeconfig $(OPERATOR_KUBECONFIG) wait --for=condition=Established --timeout=60s \
	  crd/trainingruns.trainyard.dev

operator-run: operator-crd ## Run the operator against $KUBECONFIG (MONGODB_URI, TRAINYARD_OPERATOR_* from the env)
	KUBECONFIG=$(OPERATOR_KUBECONFIG) $(dir $(PY))trainyard-operator

test-operator: install k8s-bins ferretdb ## The operator's tests: pure, contract and against the local control plane
	$(PY) -m pytest tests/trainyard_operator -v --durations=10

operator-bench: install k8s-bins ## 200 TrainingRuns at once: time from creation to Job (p50/p95), one operator
	$(PY) bench/operator_bench.py
