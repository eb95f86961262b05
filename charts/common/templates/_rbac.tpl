{{/*
ServiceAccount and RBAC. Pods mount a token only when the chart grants RBAC
(`serviceAccount.rules` or `serviceAccount.clusterRules` non-empty).
*/}}

{{/* nex-charts.common.rbac.enabled: "true" when a Role or ClusterRole is granted. Takes root. */}}
{{- define "nex-charts.common.rbac.enabled" -}}
{{- $sa := .Values.serviceAccount -}}
{{- if and $sa.create (or $sa.rules $sa.clusterRules) -}}true{{- else -}}false{{- end -}}
{{- end -}}

{{/* nex-charts.common.serviceAccount: the ServiceAccount (when `serviceAccount.create`), then its Role/ClusterRole and bindings from values. Takes root. */}}
{{- define "nex-charts.common.serviceAccount" -}}
{{- $sa := .Values.serviceAccount -}}
{{- include "nex-charts.common.serviceAccount.rbac" (dict "context" . "rules" $sa.rules "clusterRules" $sa.clusterRules) -}}
{{- end -}}

{{/*
nex-charts.common.serviceAccount.rbac: like nex-charts.common.serviceAccount, with the rules given by
the chart (e.g. a Role limited by resourceNames to an object the chart names).
Takes (dict "context" $ "rules" (list …) "clusterRules" (list …)). A chart that
grants rules this way passes `serviceAccountToken: true` to nex-charts.common.workload.
*/}}
{{- define "nex-charts.common.serviceAccount.rbac" -}}
{{- $ctx := .context -}}
{{- $sa := $ctx.Values.serviceAccount -}}
{{- if $sa.create -}}
{{- $name := include "nex-charts.common.names.serviceAccount" $ctx -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  {{- include "nex-charts.common.metadata" (dict "context" $ctx "name" $name "annotations" $sa.annotations) | nindent 2 }}
automountServiceAccountToken: false
{{- with .rules }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  {{- include "nex-charts.common.metadata" (dict "context" $ctx "name" $name) | nindent 2 }}
rules:
  {{- toYaml . | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  {{- include "nex-charts.common.metadata" (dict "context" $ctx "name" $name) | nindent 2 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ $name }}
subjects:
  - kind: ServiceAccount
    name: {{ $name }}
    namespace: {{ include "nex-charts.common.names.namespace" $ctx }}
{{- end }}
{{- with .clusterRules }}
{{- $cname := printf "%s-%s" (include "nex-charts.common.names.namespace" $ctx) $name | trunc 63 | trimSuffix "-" }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ $cname }}
  labels:
    {{- include "nex-charts.common.labels.standard" $ctx | nindent 4 }}
rules:
  {{- toYaml . | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ $cname }}
  labels:
    {{- include "nex-charts.common.labels.standard" $ctx | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ $cname }}
subjects:
  - kind: ServiceAccount
    name: {{ $name }}
    namespace: {{ include "nex-charts.common.names.namespace" $ctx }}
{{- end }}
{{- end -}}
{{- end -}}
