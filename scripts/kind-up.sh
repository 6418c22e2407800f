#!/usr/bin/env bash
# `make kind-up`: Trainyard on a local kind cluster, for a user with Docker. Creates the cluster
# (once), loads the images `make images` built, installs the chart, applies the smoke TrainingRun
# and prints the UI address. The API is a NodePort published on the host's loopback.
#
#   HELM, KIND, KUBECTL  the tools (make kind-up sets them)
#   KIND_CLUSTER=trainyard NAMESPACE=trainyard UI_PORT=8080 IMAGE_REPO=trainyard IMAGE_TAG=dev
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

helm=${HELM:-helm} kind=${KIND:-kind} kubectl=${KUBECTL:-kubectl}
cluster=${KIND_CLUSTER:-trainyard} ns=${NAMESPACE:-trainyard} port=${UI_PORT:-8080}
repo=${IMAGE_REPO:-trainyard} tag=${IMAGE_TAG:-dev}
context=kind-$cluster

if ! "$kind" get clusters | grep -qx "$cluster"; then
    "$kind" create cluster --name "$cluster" --wait 120s --config - <<YAML
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
    extraPortMappings:
      - {containerPort: 30080, hostPort: $port, listenAddress: 127.0.0.1}
YAML
fi
for image in trainer api operator; do
    "$kind" load docker-image --name "$cluster" "$repo/$image:$tag"
done

# kind's default StorageClass offers ReadWriteOnce only; on its single node that is enough for
# trainer Jobs and the API to share the checkpoint volume.
"$helm" upgrade --install trainyard charts/trainyard --kube-context "$context" \
    --namespace "$ns" --create-namespace --wait --timeout 5m \
    --set "operator.image.repository=$repo/operator,operator.image.tag=$tag" \
    --set "api.image.repository=$repo/api,api.image.tag=$tag" \
    --set "trainer.image.repository=$repo/trainer,trainer.image.tag=$tag" \
    --set api.service.type=NodePort,api.service.nodePort=30080 \
    --set 'checkpoints.accessModes={ReadWriteOnce}' \
    --set "grafana.dashboard.uiUrl=http://127.0.0.1:$port"
"$kubectl" --context "$context" --namespace "$ns" apply -f examples/trainingrun-smoke.yaml

echo
echo "Trainyard UI: http://127.0.0.1:$port"
echo "The smoke run: $kubectl --context $context --namespace $ns get trainingruns --watch"
