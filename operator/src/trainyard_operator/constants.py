"""Identity of the TrainingRun API and of everything the operator creates, in one place.

Used by builders.py (labels, owner references), kube.py (API paths), main.py (handler
registration) and __main__.py (kopf's annotation and finalizer prefixes). The CRD in
charts/trainyard/crds/trainingruns.trainyard.dev.yaml spells the same group, version and names.
"""

from __future__ import annotations

GROUP = "trainyard.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "TrainingRun"
PLURAL = "trainingruns"
SINGULAR = "trainingrun"
SHORT_NAME = "tr"
CATEGORY = "trainyard"
CRD_NAME = f"{PLURAL}.{GROUP}"

# kopf's own bookkeeping (handler progress, last-handled configuration, finalizer) uses our prefix.
KOPF_PREFIX = GROUP
FINALIZER = f"{GROUP}/finalizer"
FIELD_MANAGER = "trainyard-operator"

# Labels on the Job and its pods; RUN_ID_LABEL also selects the pods of a run.
RUN_ID_LABEL = f"{GROUP}/run-id"
RUN_NAME_LABEL = f"{GROUP}/run-name"
AGENT_ID_LABEL = f"{GROUP}/agent-id"
NAME_LABEL = "app.kubernetes.io/name"
COMPONENT_LABEL = "app.kubernetes.io/component"
INSTANCE_LABEL = "app.kubernetes.io/instance"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
PART_OF_LABEL = "app.kubernetes.io/part-of"
APP_NAME = "trainyard-trainer"
COMPONENT = "trainer"
MANAGED_BY = "trainyard-operator"
PART_OF = "trainyard"

# The trainer container and its volumes.
CONTAINER_NAME = "trainer"
TRAINER_COMMAND = ("trainyard-train",)
CHECKPOINT_VOLUME = "checkpoints"
TMP_VOLUME = "tmp"
TMP_DIR = "/tmp"
METRICS_PORT_NAME = "metrics"
METRICS_PATH = "/metrics"
GPU_RESOURCE = "nvidia.com/gpu"
RUN_AS_USER = 10001

# The trainer's exit codes (trainyard-train): 0 completed or stopped, 1 failed (it recorded the
# exception itself), 2 bad configuration (nothing recorded; never worth a retry).
EXIT_FAILED = 1
EXIT_BAD_CONFIG = 2
