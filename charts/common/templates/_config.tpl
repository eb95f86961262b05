{{/*
Configuration from values. A chart renders its config files into a ConfigMap
(or its secrets into a Secret) unless the user brings `existingConfigMap` /
`existingSecret`; the workload mounts `nex-charts.common.names.configMap` /
`nex-charts.common.names.secret` either way.
*/}}

{{/* nex-charts.common.configMap: Takes (dict "context" $ "data" (dict "file.yml" "…")); nothing when existingConfigMap is set. */}}
{{- define "nex-charts.common.configMap" -}}
{{- if not .context.Values.existingConfigMap -}}
apiVersion: v1
kind: ConfigMap
metadata:
  {{- include "nex-charts.common.metadata" (dict "context" .context) | nindent 2 }}
data:
  {{- toYaml .data | nindent 2 }}
{{- end -}}
{{- end -}}

{{/* nex-charts.common.secret: Takes (dict "context" $ "stringData" (dict …)); nothing when existingSecret is set. */}}
{{- define "nex-charts.common.secret" -}}
{{- if not .context.Values.existingSecret -}}
apiVersion: v1
kind: Secret
metadata:
  {{- include "nex-charts.common.metadata" (dict "context" .context) | nindent 2 }}
type: Opaque
stringData:
  {{- toYaml .stringData | nindent 2 }}
{{- end -}}
{{- end -}}

{{/* nex-charts.common.extraObjects: `extraObjects`, each a map or a string, rendered through tpl. Takes root. */}}
{{- define "nex-charts.common.extraObjects" -}}
{{- range .Values.extraObjects }}
---
{{- if kindIs "string" . }}
{{ tpl . $ }}
{{- else }}
{{ tpl (toYaml .) $ }}
{{- end }}
{{- end }}
{{- end -}}
