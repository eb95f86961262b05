{{/*
gatus.config: `config`, plus SQLite storage on the data volume when
persistence is enabled and `config.storage` is not set.
*/}}
{{- define "gatus.config" -}}
{{- $cfg := deepCopy (default (dict) .Values.config) -}}
{{- if and .Values.persistence.enabled (not (hasKey $cfg "storage")) -}}
{{- $_ := set $cfg "storage" (dict "type" "sqlite" "path" (printf "%s/data.db" (trimSuffix "/" .Values.persistence.mountPath))) -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}
