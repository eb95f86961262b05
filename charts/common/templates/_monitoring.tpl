{{/*
nex-charts.common.serviceMonitor: a prometheus-operator ServiceMonitor scraping the Service
port `serviceMonitor.port` at `serviceMonitor.path`. Takes root; nothing when disabled.
*/}}
{{- define "nex-charts.common.serviceMonitor" -}}
{{- $sm := .Values.serviceMonitor -}}
{{- if and $sm $sm.enabled -}}
{{- $port := default "http" $sm.port -}}
{{- $_ := include "nex-charts.common.service.port" (dict "context" . "name" $port) -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  {{- include "nex-charts.common.metadata" (dict "context" . "labels" $sm.labels) | nindent 2 }}
spec:
  selector:
    matchLabels:
      {{- include "nex-charts.common.labels.selector" . | nindent 6 }}
  namespaceSelector:
    matchNames:
      - {{ include "nex-charts.common.names.namespace" . }}
  endpoints:
    - port: {{ $port }}
      path: {{ default "/metrics" $sm.path }}
      interval: {{ default "60s" $sm.interval }}
      scrapeTimeout: {{ default "10s" $sm.scrapeTimeout }}
      {{- with $sm.relabelings }}
      relabelings:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}
{{- end -}}

{{/*
nex-charts.common.podDisruptionBudget: a policy/v1 PodDisruptionBudget with
`minAvailable` or `maxUnavailable` (the latter by default). Takes root.
*/}}
{{- define "nex-charts.common.podDisruptionBudget" -}}
{{- $pdb := .Values.podDisruptionBudget -}}
{{- if and $pdb $pdb.enabled -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  {{- include "nex-charts.common.metadata" (dict "context" .) | nindent 2 }}
spec:
  {{- if not (kindIs "invalid" $pdb.minAvailable) }}
  minAvailable: {{ $pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ default 1 $pdb.maxUnavailable }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "nex-charts.common.labels.selector" . | nindent 6 }}
{{- end -}}
{{- end -}}
