{{/* tailscale.stateSecret: the Secret containerboot keeps the node state in (TS_KUBE_SECRET). */}}
{{- define "nex-charts.tailscale.stateSecret" -}}
{{- include "nex-charts.common.names.suffixed" (dict "context" . "suffix" "state") -}}
{{- end -}}

{{/* tailscale.extraArgs: TS_EXTRA_ARGS from exitNode, tags and extraArgs. */}}
{{- define "nex-charts.tailscale.extraArgs" -}}
{{- $args := list -}}
{{- if .Values.exitNode }}{{ $args = append $args "--advertise-exit-node" }}{{ end -}}
{{- with .Values.tags }}{{ $args = append $args (printf "--advertise-tags=%s" (join "," .)) }}{{ end -}}
{{- range .Values.extraArgs }}{{ $args = append $args . }}{{ end -}}
{{- join " " $args -}}
{{- end -}}
