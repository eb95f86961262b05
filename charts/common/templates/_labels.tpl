{{/*
Labels. Selector labels are name + instance only: a selector is immutable, so
it must never carry a version.
*/}}

{{/* common.labels.selector: what Services, workloads and policies select on. Takes root. */}}
{{- define "common.labels.selector" -}}
app.kubernetes.io/name: {{ include "common.names.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/*
common.labels.standard: the recommended app.kubernetes.io/* labels plus
helm.sh/chart and the user's `commonLabels`, for every object. Takes root.
*/}}
{{- define "common.labels.standard" -}}
{{ include "common.labels.selector" . }}
{{ include "common.labels.rest" . }}
{{- end -}}

{{/* common.labels.rest: the non-selector standard labels (shared with the test pod). */}}
{{- define "common.labels.rest" -}}
app.kubernetes.io/version: {{ include "common.labels.version" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "common.names.chart" . }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* common.labels.version: the running version: the image tag when set, else appVersion. */}}
{{- define "common.labels.version" -}}
{{- $tag := "" -}}
{{- if kindIs "map" .Values.image -}}{{- $tag = get .Values.image "tag" | toString -}}{{- end -}}
{{- $v := default (toString .Chart.AppVersion) $tag | replace "+" "_" -}}
{{- regexReplaceAll "[^A-Za-z0-9._-]" $v "" | trunc 63 | trimSuffix "-" | trimSuffix "." -}}
{{- end -}}

{{/*
common.labels.test: labels of the helm test pod. Its name label differs from
the app's (`<name>-test`) so the Service, the workload and the NetworkPolicy
never select it; the NetworkPolicy lets exactly these labels in.
*/}}
{{- define "common.labels.test" -}}
{{ include "common.labels.testSelector" . }}
app.kubernetes.io/component: test
{{ include "common.labels.rest" . }}
{{- end -}}

{{- define "common.labels.testSelector" -}}
app.kubernetes.io/name: {{ printf "%s-test" (include "common.names.name" .) | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/*
common.metadata: name, namespace, labels and annotations of an object.
Takes (dict "context" $ "name" "<optional name>" "labels" (dict) "annotations" (dict)).
*/}}
{{- define "common.metadata" -}}
{{- $ctx := .context -}}
name: {{ default (include "common.names.fullname" $ctx) .name }}
namespace: {{ include "common.names.namespace" $ctx }}
labels:
  {{- include "common.labels.standard" $ctx | nindent 2 }}
  {{- with .labels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with .annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
