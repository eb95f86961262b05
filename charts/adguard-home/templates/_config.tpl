{{/*
adguard-home.config: the seed AdGuardHome.yaml — `config`, with the listen
addresses forced from `service.ports` so the Service and the process agree, and
the admin user (when `admin.enabled`) whose password hash is a placeholder the
seed init container replaces from the Secret: the ConfigMap carries no hash, and
does not change when the Secret does.
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
{{- /* DNS-over-TLS / DNS-over-QUIC: on exactly when their Service port is. */}}
{{- $dot := include "nex-charts.adguard-home.portOn" (dict "context" . "name" "dns-tls") -}}
{{- $doq := include "nex-charts.adguard-home.portOn" (dict "context" . "name" "dns-quic") -}}
{{- $tls := deepCopy (default (dict) (get $cfg "tls")) -}}
{{- $_ := set $tls "port_dns_over_tls" (ternary (int (index $ports "dns-tls").containerPort) 0 (eq $dot "true")) -}}
{{- $_ := set $tls "port_dns_over_quic" (ternary (int (index $ports "dns-quic").containerPort) 0 (eq $doq "true")) -}}
{{- if or (eq $dot "true") (eq $doq "true") -}}
{{- $_ := set $tls "enabled" true -}}
{{- /* HTTPS on the web port is not what these options ask for: off unless `config.tls` sets it (443 would not bind as non-root). */}}
{{- if not (hasKey $tls "port_https") -}}
{{- $_ := set $tls "port_https" 0 -}}
{{- end -}}
{{- with .Values.encryption.certificateSecret -}}
{{- $_ := set $tls "certificate_path" "/etc/adguardhome/tls/tls.crt" -}}
{{- $_ := set $tls "private_key_path" "/etc/adguardhome/tls/tls.key" -}}
{{- end -}}
{{- end -}}
{{- $_ := set $cfg "tls" $tls -}}
{{- if .Values.admin.enabled -}}
{{- $users := list -}}
{{- range $u := default (list) (get $cfg "users") -}}
{{- if eq (toString (get $u "name")) $.Values.admin.username -}}
{{- fail (printf "config.users already has a user %q: the chart adds it (admin.enabled); remove it there or set admin.enabled=false" $.Values.admin.username) -}}
{{- end -}}
{{- $users = append $users $u -}}
{{- end -}}
{{- $users = append $users (dict "name" .Values.admin.username "password" (include "nex-charts.adguard-home.hashPlaceholder" .)) -}}
{{- $_ := set $cfg "users" $users -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* adguard-home.hashPlaceholder: stands for the admin's bcrypt hash in the seed until the init container writes it. */}}
{{- define "nex-charts.adguard-home.hashPlaceholder" -}}
@@NEX_ADMIN_PASSWORD_HASH@@
{{- end -}}

{{/* adguard-home.portOn: "true" when service.ports.<name> exists and is not `enabled: false`. */}}
{{- define "nex-charts.adguard-home.portOn" -}}
{{- $p := get .context.Values.service.ports .name -}}
{{- and $p (ne (toString (get $p "enabled")) "false") | toString -}}
{{- end -}}

{{/* adguard-home.dataDir: the data volume's mount path without a trailing slash. */}}
{{- define "nex-charts.adguard-home.dataDir" -}}
{{- trimSuffix "/" .Values.persistence.mountPath -}}
{{- end -}}

{{/*
adguard-home.seedScript: the seed init container's shell. It copies the seed
onto the data volume when no config is there (or always, with seed.overwrite),
writing the admin's bcrypt hash from the Secret in place of the placeholder. A
config already on the volume is AdGuard Home's: left alone, users included.
*/}}
{{- define "nex-charts.adguard-home.seedScript" -}}
{{- $data := include "nex-charts.adguard-home.dataDir" . -}}
{{- $conf := printf "%s/conf/AdGuardHome.yaml" $data -}}
set -eu
mkdir -p {{ $data }}/conf {{ $data }}/work
conf={{ $conf }}
if [ {{ toString .Values.seed.overwrite }} = true ] || [ ! -s "$conf" ]; then
  if [ -f /admin/passwordHash ]; then
    hash="$(cat /admin/passwordHash)"
    # A bcrypt hash is 60 characters of [./A-Za-z0-9$] starting $2a$, $2b$ or $2y$; anything else is refused.
    case "$hash" in
      *[!./A-Za-z0-9$]*) bad=1 ;;
      '$2a$'*|'$2b$'*|'$2y$'*) bad=0 ;;
      *) bad=1 ;;
    esac
    if [ "$bad" = 1 ] || [ "${#hash}" -ne 60 ]; then
      echo "key passwordHash of Secret {{ include "nex-charts.common.names.secret" . }} is not a bcrypt hash (htpasswd -B -C 10 -n admin)" >&2
      exit 1
    fi
    sed "s|{{ include "nex-charts.adguard-home.hashPlaceholder" . }}|$hash|" /seed/AdGuardHome.yaml > "$conf.tmp"
  else
    cp /seed/AdGuardHome.yaml "$conf.tmp"
  fi
  mv "$conf.tmp" "$conf"
  echo "seeded $conf"
else
  echo "$conf exists; left alone (seed.overwrite=false)"
fi
{{- end -}}
