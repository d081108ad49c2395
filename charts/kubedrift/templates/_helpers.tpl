{{/* Name of the release's objects: the release name, with "-kubedrift" unless it says so. */}}
{{- define "kubedrift.fullname" -}}
{{- if contains "kubedrift" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-kubedrift" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kubedrift.selectorLabels" -}}
app.kubernetes.io/name: kubedrift
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "kubedrift.labels" -}}
{{ include "kubedrift.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "kubedrift.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kubedrift.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kubedrift.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
What the operator does in a namespace where it watches ModelMonitors: exactly the requests of
kubedrift/controller (client.py paths) and of kopf (finalizers and bookkeeping annotations on
the monitors, Events). Deployments and Services are created and deleted for the collector of
an InferenceService (spec.target.inferenceService), whose logger is patched. Kept in one place
for the ClusterRole and the per-namespace Roles.
*/}}
{{- define "kubedrift.namespacedRules" -}}
- apiGroups: ["kubedrift.io"]
  resources: ["modelmonitors"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["kubedrift.io"]
  resources: ["modelmonitors/status"]
  verbs: ["patch"]
- apiGroups: ["apps"]
  resources: ["statefulsets"]
  verbs: ["get", "patch"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "create", "patch", "delete"]
- apiGroups: ["serving.kserve.io"]
  resources: ["inferenceservices"]
  verbs: ["get", "patch"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "create", "delete"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["get", "create"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end -}}
