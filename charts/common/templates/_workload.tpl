{{/*
nex-charts.common.workload: the Deployment (default) or StatefulSet running the app.
Takes the parameters documented in _pod.tpl.

- `replicas` from values.
- A Deployment that mounts a ReadWriteOnce claim (or an `existingClaim`,
  whose access mode the chart cannot see) uses the Recreate strategy: a
  rolling update would start the new pod while the old one holds the volume.
- A StatefulSet gets its claim from volumeClaimTemplates (unless `existingClaim`).
*/}}
{{- define "nex-charts.common.workload" -}}
{{- $ctx := .context -}}
{{- $v := $ctx.Values -}}
{{- $kind := default "Deployment" .kind -}}
{{- if not (has $kind (list "Deployment" "StatefulSet")) -}}
{{- fail (printf "nex-charts.common.workload: kind must be Deployment or StatefulSet, not %q" $kind) -}}
{{- end -}}
apiVersion: apps/v1
kind: {{ $kind }}
metadata:
  {{- include "nex-charts.common.metadata" (dict "context" $ctx) | nindent 2 }}
spec:
  replicas: {{ $v.replicas }}
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      {{- include "nex-charts.common.labels.selector" $ctx | nindent 6 }}
  {{- if eq $kind "StatefulSet" }}
  serviceName: {{ include "nex-charts.common.names.fullname" $ctx }}
  {{- else }}
  strategy:
    type: {{ include "nex-charts.common.workload.strategy" . }}
  {{- end }}
  template:
    {{- include "nex-charts.common.pod.template" . | nindent 4 }}
  {{- if and (eq $kind "StatefulSet") (include "nex-charts.common.pod.hasData" .) $v.persistence.enabled (not $v.persistence.existingClaim) }}
  volumeClaimTemplates:
    - metadata:
        name: data
        labels:
          {{- include "nex-charts.common.labels.standard" $ctx | nindent 10 }}
        {{- with $v.persistence.annotations }}
        annotations:
          {{- toYaml . | nindent 10 }}
        {{- end }}
      spec:
        {{- include "nex-charts.common.persistence.claimSpec" $ctx | nindent 8 }}
  {{- end }}
{{- end -}}

{{/* nex-charts.common.workload.strategy: Recreate when a ReadWriteOnce(Pod) claim is mounted, else RollingUpdate. */}}
{{- define "nex-charts.common.workload.strategy" -}}
{{- $p := .context.Values.persistence -}}
{{- $rwo := false -}}
{{- if and (include "nex-charts.common.pod.hasData" .) $p.enabled -}}
{{- if $p.existingClaim -}}
{{- $rwo = true -}}
{{- else -}}
{{- range (default (list "ReadWriteOnce") $p.accessModes) -}}
{{- if has . (list "ReadWriteOnce" "ReadWriteOncePod") }}{{ $rwo = true }}{{ end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- ternary "Recreate" "RollingUpdate" $rwo -}}
{{- end -}}
