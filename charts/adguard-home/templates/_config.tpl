{{/*
adguard-home.config: the seed AdGuardHome.yaml — `config`, with the listen
addresses forced from `service.ports` so the Service and the process agree.
*/}}
{{- define "nex-charts.adguard-home.config" -}}
{{- $cfg := deepCopy (default (dict) .Values.config) -}}
{{- $ports := .Values.service.ports -}}
{{- $http := deepCopy (default (dict) (get $cfg "http")) -}}
{{- $_ := set $http "address" (printf "0.0.0.0:%v" (index $ports "http").containerPort) -}}
{{- $_ := set $cfg "http" $http -}}
{{- $dns := deepCopy (default (dict) (get $cfg "dns")) -}}
{{- $_ := set $dns "bind_hosts" (list "0.0.0.0") -}}
{{- $_ := set $dns "port" (int (index $ports "dns-udp").containerPort) -}}
{{- $_ := set $cfg "dns" $dns -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* adguard-home.dataDir: the data volume's mount path without a trailing slash. */}}
{{- define "nex-charts.adguard-home.dataDir" -}}
{{- trimSuffix "/" .Values.persistence.mountPath -}}
{{- end -}}
