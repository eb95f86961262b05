{{/*
gatus.config: `config`, plus SQLite storage on the data volume when
persistence is enabled and `config.storage` is not set, and `web.port` set to
the container port unless `config.web.port` is given.
*/}}
{{- define "nex-charts.gatus.config" -}}
{{- $cfg := deepCopy (default (dict) .Values.config) -}}
{{- if and .Values.persistence.enabled (not (hasKey $cfg "storage")) -}}
{{- $_ := set $cfg "storage" (dict "type" "sqlite" "path" (printf "%s/data.db" (trimSuffix "/" .Values.persistence.mountPath))) -}}
{{- end -}}
{{- $web := default (dict) (get $cfg "web") -}}
{{- if not (hasKey $web "port") -}}
{{- $p := .Values.service.ports.http -}}
{{- $_ := set $web "port" (int (default $p.port $p.containerPort)) -}}
{{- end -}}
{{- $_ := set $cfg "web" $web -}}
{{- toYaml $cfg -}}
{{- end -}}
