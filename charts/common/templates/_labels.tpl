{{/*
Labels. Selector labels are name + instance only: a selector is immutable, so
it must never carry a version.
*/}}

{{/* nex-charts.common.labels.selector: what Services, workloads and policies select on. Takes root. */}}
{{- define "nex-charts.common.labels.selector" -}}
app.kubernetes.io/name: {{ include "nex-charts.common.names.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/*
nex-charts.common.labels.standard: the recommended app.kubernetes.io/* labels plus
helm.sh/chart and the user's `commonLabels`, for every object. Takes root.
*/}}
{{- define "nex-charts.common.labels.standard" -}}
{{ include "nex-charts.common.labels.selector" . }}
{{ include "nex-charts.common.labels.rest" . }}
{{- end -}}

{{/* nex-charts.common.labels.rest: the non-selector standard labels (shared with the test pod). */}}
{{- define "nex-charts.common.labels.rest" -}}
app.kubernetes.io/version: {{ include "nex-charts.common.labels.version" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "nex-charts.common.names.chart" . }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* nex-charts.common.labels.version: the running version: the image tag when set, else appVersion. */}}
{{- define "nex-charts.common.labels.version" -}}
{{- $tag := "" -}}
{{- if kindIs "map" .Values.image -}}{{- $tag = get .Values.image "tag" | toString -}}{{- end -}}
{{- $v := default (toString .Chart.AppVersion) $tag | replace "+" "_" -}}
{{- regexReplaceAll "[^A-Za-z0-9._-]" $v "" | trunc 63 | trimSuffix "-" | trimSuffix "." -}}
{{- end -}}

{{/*
nex-charts.common.labels.test: labels of the helm test pod. Its name label differs from
the app's (`<name>-test`) so the Service, the workload and the NetworkPolicy
never select it; the NetworkPolicy lets exactly these labels in.
*/}}
{{- define "nex-charts.common.labels.test" -}}
{{ include "nex-charts.common.labels.testSelector" . }}
app.kubernetes.io/component: test
{{ include "nex-charts.common.labels.rest" . }}
{{- end -}}

{{- define "nex-charts.common.labels.testSelector" -}}
app.kubernetes.io/name: {{ printf "%s-test" (include "nex-charts.common.names.name" .) | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/*
nex-charts.common.metadata: name, namespace, labels and annotations of an object.
Takes (dict "context" $ "name" "<optional name>" "labels" (dict) "annotations" (dict)).
*/}}
{{- define "nex-charts.common.metadata" -}}
{{- $ctx := .context -}}
name: {{ default (include "nex-charts.common.names.fullname" $ctx) .name }}
namespace: {{ include "nex-charts.common.names.namespace" $ctx }}
labels:
  {{- include "nex-charts.common.labels.standard" $ctx | nindent 2 }}
  {{- with .labels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- with .annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
