{{/*
ServiceAccount and RBAC. Pods mount a token only when the chart grants RBAC
(`serviceAccount.rules` or `serviceAccount.clusterRules` non-empty).
*/}}

{{/* common.rbac.enabled: "true" when a Role or ClusterRole is granted. Takes root. */}}
{{- define "common.rbac.enabled" -}}
{{- $sa := .Values.serviceAccount -}}
{{- if and $sa.create (or $sa.rules $sa.clusterRules) -}}true{{- else -}}false{{- end -}}
{{- end -}}

{{/* common.serviceAccount: the ServiceAccount (when `serviceAccount.create`), then its Role/ClusterRole and bindings. */}}
{{- define "common.serviceAccount" -}}
{{- $sa := .Values.serviceAccount -}}
{{- if $sa.create -}}
{{- $name := include "common.names.serviceAccount" . -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  {{- include "common.metadata" (dict "context" . "name" $name "annotations" $sa.annotations) | nindent 2 }}
automountServiceAccountToken: false
{{- with $sa.rules }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  {{- include "common.metadata" (dict "context" $ "name" $name) | nindent 2 }}
rules:
  {{- toYaml . | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  {{- include "common.metadata" (dict "context" $ "name" $name) | nindent 2 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ $name }}
subjects:
  - kind: ServiceAccount
    name: {{ $name }}
    namespace: {{ include "common.names.namespace" $ }}
{{- end }}
{{- with $sa.clusterRules }}
{{- $cname := printf "%s-%s" (include "common.names.namespace" $) $name | trunc 63 | trimSuffix "-" }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ $cname }}
  labels:
    {{- include "common.labels.standard" $ | nindent 4 }}
rules:
  {{- toYaml . | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ $cname }}
  labels:
    {{- include "common.labels.standard" $ | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ $cname }}
subjects:
  - kind: ServiceAccount
    name: {{ $name }}
    namespace: {{ include "common.names.namespace" $ }}
{{- end }}
{{- end -}}
{{- end -}}
