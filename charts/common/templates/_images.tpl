{{/*
nex-charts.common.images.image: an image reference from values, never from a template:
`[registry/]repository:tag[@digest]`. The tag defaults to the chart's appVersion.
Takes (dict "image" .Values.image "context" $).
*/}}
{{- define "nex-charts.common.images.image" -}}
{{- $img := .image -}}
{{- $repo := required "image.repository is required" (get $img "repository") -}}
{{- with get $img "registry" }}{{ $repo = printf "%s/%s" . $repo }}{{ end -}}
{{- $tag := get $img "tag" | toString -}}
{{- if or (eq $tag "") (eq $tag "<nil>") }}{{ $tag = .context.Chart.AppVersion | toString }}{{ end -}}
{{- $ref := printf "%s:%s" $repo $tag -}}
{{- with get $img "digest" }}{{ $ref = printf "%s@%s" $ref . }}{{ end -}}
{{- $ref -}}
{{- end -}}

{{/* nex-charts.common.images.pullPolicy: `image.pullPolicy`, else IfNotPresent. Takes an image map. */}}
{{- define "nex-charts.common.images.pullPolicy" -}}
{{- default "IfNotPresent" (get . "pullPolicy") -}}
{{- end -}}

{{/* nex-charts.common.images.pullSecrets: `imagePullSecrets` (names or {name: …} maps) as a pod field. Takes root. */}}
{{- define "nex-charts.common.images.pullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- range . }}
  {{- if kindIs "string" . }}
  - name: {{ . }}
  {{- else }}
  - name: {{ .name }}
  {{- end }}
  {{- end }}
{{- end }}
{{- end -}}
