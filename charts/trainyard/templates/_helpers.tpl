{{/*
Names, labels and shared snippets. Helpers are named per component:
trainyard.<component>.<what> (operator, api, mongodb, checkpoints, trainer).
*/}}

{{- define "trainyard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "trainyard.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "trainyard.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object; call with (dict "ctx" $ "component" "api"). */}}
{{- define "trainyard.labels" -}}
helm.sh/chart: {{ include "trainyard.chart" .ctx }}
{{ include "trainyard.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: trainyard
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "trainyard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "trainyard.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{/* An image reference; call with (dict "image" .Values.api.image "ctx" $). */}}
{{- define "trainyard.image" -}}
{{- printf "%s:%s" .image.repository (default .ctx.Chart.AppVersion .image.tag) }}
{{- end }}

{{/* Prometheus scrape annotations; call with (dict "ctx" $ "port" 9090). */}}
{{- define "trainyard.scrapeAnnotations" -}}
{{- if .ctx.Values.metrics.scrapeAnnotations -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end }}

{{/* -- operator ------------------------------------------------------------------------- */}}

{{- define "trainyard.operator.fullname" -}}
{{- printf "%s-operator" (include "trainyard.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "trainyard.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (include "trainyard.operator.fullname" .) .Values.operator.serviceAccount.name }}
{{- else }}
{{- required "operator.serviceAccount.name is required when operator.serviceAccount.create=false" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* -- api ------------------------------------------------------------------------------ */}}

{{- define "trainyard.api.fullname" -}}
{{- printf "%s-api" (include "trainyard.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The web UI's address as a user reaches it (Ingress host, else a port-forward to the Service). */}}
{{- define "trainyard.api.uiUrl" -}}
{{- if .Values.grafana.dashboard.uiUrl }}
{{- .Values.grafana.dashboard.uiUrl | trimSuffix "/" }}
{{- else if and .Values.ingress.enabled .Values.ingress.host }}
{{- printf "%s://%s%s" (ternary "https" "http" (not (empty .Values.ingress.tlsSecretName))) .Values.ingress.host (.Values.ingress.path | trimSuffix "/") }}
{{- else }}
{{- print "http://127.0.0.1:8000" }}
{{- end }}
{{- end }}

{{/* -- mongodb -------------------------------------------------------------------------- */}}

{{- define "trainyard.mongodb.fullname" -}}
{{- printf "%s-mongodb" (include "trainyard.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The Secret holding the MongoDB connection string (key: trainyard.mongodb.uriKey). */}}
{{- define "trainyard.mongodb.secretName" -}}
{{- if and (not .Values.mongodb.enabled) .Values.mongodb.external.existingSecret }}
{{- .Values.mongodb.external.existingSecret }}
{{- else }}
{{- include "trainyard.mongodb.fullname" . }}
{{- end }}
{{- end }}

{{- define "trainyard.mongodb.uriKey" -}}
{{- if and (not .Values.mongodb.enabled) .Values.mongodb.external.existingSecret }}
{{- .Values.mongodb.external.existingSecretKey }}
{{- else }}
{{- print "uri" }}
{{- end }}
{{- end }}

{{/* MONGODB_URI (from the Secret) and MONGODB_DB_NAME, for the operator and API containers. */}}
{{- define "trainyard.mongodb.env" -}}
- name: MONGODB_URI
  valueFrom:
    secretKeyRef:
      name: {{ include "trainyard.mongodb.secretName" . }}
      key: {{ include "trainyard.mongodb.uriKey" . }}
- name: MONGODB_DB_NAME
  value: {{ .Values.mongodb.database | quote }}
{{- end }}

{{/* -- checkpoints ---------------------------------------------------------------------- */}}

{{- define "trainyard.checkpoints.claimName" -}}
{{- default (printf "%s-checkpoints" (include "trainyard.fullname" .)) .Values.checkpoints.existingClaim }}
{{- end }}

{{/* -- trainer -------------------------------------------------------------------------- */}}

{{- define "trainyard.trainer.image" -}}
{{- include "trainyard.image" (dict "image" .Values.trainer.image "ctx" .) }}
{{- end }}

{{/*
The operator's settings (OperatorSettings, env prefix TRAINYARD_OPERATOR_, in
operator/src/trainyard_operator/settings.py): trainer defaults and where trainers find MongoDB
and the checkpoint claim. Mappings and lists are JSON.
*/}}
{{- define "trainyard.operator.env" -}}
- name: TRAINYARD_OPERATOR_NAMESPACES
  value: {{ .Release.Namespace | quote }}
- name: TRAINYARD_OPERATOR_LOG_LEVEL
  value: {{ .Values.operator.logLevel | upper | quote }}
- name: TRAINYARD_OPERATOR_METRICS_PORT
  value: {{ .Values.operator.metricsPort | quote }}
- name: TRAINYARD_OPERATOR_HEALTH_PORT
  value: {{ .Values.operator.healthPort | quote }}
- name: TRAINYARD_OPERATOR_PROGRESS_INTERVAL
  value: {{ .Values.operator.progressInterval | quote }}
- name: TRAINYARD_OPERATOR_LOG_LINES
  value: {{ .Values.operator.logLines | quote }}
- name: TRAINYARD_OPERATOR_MONGODB_SECRET_NAME
  value: {{ include "trainyard.mongodb.secretName" . | quote }}
- name: TRAINYARD_OPERATOR_MONGODB_SECRET_KEY
  value: {{ include "trainyard.mongodb.uriKey" . | quote }}
- name: TRAINYARD_OPERATOR_CHECKPOINT_CLAIM_NAME
  value: {{ include "trainyard.checkpoints.claimName" . | quote }}
- name: TRAINYARD_OPERATOR_CHECKPOINT_MOUNT_PATH
  value: {{ .Values.checkpoints.mountPath | quote }}
- name: TRAINYARD_OPERATOR_TRAINER_IMAGE
  value: {{ include "trainyard.trainer.image" . | quote }}
- name: TRAINYARD_OPERATOR_IMAGE_PULL_POLICY
  value: {{ .Values.trainer.image.pullPolicy | quote }}
- name: TRAINYARD_OPERATOR_DEFAULT_CPU
  value: {{ .Values.trainer.resources.cpu | quote }}
- name: TRAINYARD_OPERATOR_DEFAULT_MEMORY
  value: {{ .Values.trainer.resources.memory | quote }}
- name: TRAINYARD_OPERATOR_GPU_TOLERATION
  value: {{ .Values.trainer.gpuToleration | toJson | quote }}
- name: TRAINYARD_OPERATOR_DEFAULT_NODE_SELECTOR
  value: {{ .Values.trainer.nodeSelector | toJson | quote }}
- name: TRAINYARD_OPERATOR_DEFAULT_TOLERATIONS
  value: {{ .Values.trainer.tolerations | toJson | quote }}
- name: TRAINYARD_OPERATOR_TRAINER_ENV
  value: {{ .Values.trainer.env | toJson | quote }}
- name: TRAINYARD_OPERATOR_TRAINER_METRICS_PORT
  value: {{ .Values.trainer.metricsPort | quote }}
- name: TRAINYARD_OPERATOR_TERMINATION_GRACE_SECONDS
  value: {{ .Values.trainer.terminationGraceSeconds | quote }}
{{- with .Values.trainer.serviceAccountName }}
- name: TRAINYARD_OPERATOR_TRAINER_SERVICE_ACCOUNT
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{/* Labels the operator puts on every trainer pod (operator/src/trainyard_operator/constants.py). */}}
{{- define "trainyard.trainer.selectorLabels" -}}
app.kubernetes.io/name: trainyard-trainer
app.kubernetes.io/managed-by: trainyard-operator
{{- end }}

{{/* Pod annotations: scrape annotations plus the component's own; call with (dict "ctx" $ "port" 8000 "extra" .Values.api.podAnnotations). */}}
{{- define "trainyard.podAnnotations" -}}
{{- $annotations := merge (dict) (default dict .extra) (include "trainyard.scrapeAnnotations" . | fromYaml) }}
{{- with $annotations -}}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
