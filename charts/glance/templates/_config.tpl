{{/*
glance.config: `config`, with `server.port` set to the container port unless
`config.server.port` is given, so the Service and Glance agree on the port.
*/}}
{{- define "nex-charts.glance.config" -}}
{{- $cfg := deepCopy (default (dict) .Values.config) -}}
{{- $server := default (dict) (get $cfg "server") -}}
{{- if not (hasKey $server "port") -}}
{{- $p := .Values.service.ports.http -}}
{{- $_ := set $server "port" (int (default $p.port $p.containerPort)) -}}
{{- end -}}
{{- $_ := set $cfg "server" $server -}}
{{- toYaml $cfg -}}
{{- end -}}
