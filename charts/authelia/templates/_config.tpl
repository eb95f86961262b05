{{/*
authelia.config: configuration.yml — `config`, plus what the chart owns:
server.address, server.disable_healthcheck, storage, the file backend's path, and (oidc.enabled) the key
set, whose PEM Authelia's template filter reads from the secret file. Secrets
never appear here: they are files under /secrets named by AUTHELIA_*_FILE.
*/}}
{{- define "nex-charts.authelia.config" -}}
{{- $cfg := deepCopy (default (dict) .Values.config) -}}
{{- $server := default (dict) (get $cfg "server") -}}
{{- $_ := set $server "address" (printf "tcp://:%v/" .Values.service.ports.http.containerPort) -}}
{{- /* Without it Authelia opens /app/.healthcheck.env for writing at every start (for the image's Docker
HEALTHCHECK, which Kubernetes ignores) and exits when it cannot: the root filesystem is read-only. */}}
{{- $_ := set $server "disable_healthcheck" true -}}
{{- $_ := set $cfg "server" $server -}}
{{- $storage := dict -}}
{{- if eq .Values.storage.type "postgres" -}}
{{- $pg := .Values.storage.postgres -}}
{{- $storage = dict "postgres" (dict "address" $pg.address "database" $pg.database "username" $pg.username) -}}
{{- else -}}
{{- $storage = dict "local" (dict "path" (printf "%s/db.sqlite3" (trimSuffix "/" .Values.persistence.mountPath))) -}}
{{- end -}}
{{- $_ := set $cfg "storage" $storage -}}
{{- if eq .Values.authentication.backend "file" -}}
{{- $backend := default (dict) (get $cfg "authentication_backend") -}}
{{- $_ := set $backend "file" (dict "path" "/secrets/users_database.yml" "watch" false) -}}
{{- $_ := set $cfg "authentication_backend" $backend -}}
{{- end -}}
{{- if .Values.oidc.enabled -}}
{{- $idp := default (dict) (get $cfg "identity_providers") -}}
{{- $oidc := default (dict) (get $idp "oidc") -}}
{{- $_ := set $oidc "jwks" (list (dict "key_id" "main" "algorithm" "RS256" "use" "sig" "key" "NEX_CHART_OIDC_JWKS_KEY")) -}}
{{- $_ := set $idp "oidc" $oidc -}}
{{- $_ := set $cfg "identity_providers" $idp -}}
{{- end -}}
{{- $yaml := toYaml $cfg -}}
{{- if .Values.oidc.enabled -}}
{{- /* The PEM is read at start by Authelia's template filter (X_AUTHELIA_CONFIG_FILTERS=template), indented under `key:`. */}}
{{- $line := regexFind "(?m)^.*key: NEX_CHART_OIDC_JWKS_KEY$" $yaml -}}
{{- $indent := add (len (regexReplaceAll "key: NEX_CHART_OIDC_JWKS_KEY$" $line "")) 2 -}}
{{- $yaml = replace "key: NEX_CHART_OIDC_JWKS_KEY" (printf "key: {{ secret \"/secrets/oidc-jwks-key.pem\" | mindent %d \"|\" | msquote }}" $indent) $yaml -}}
{{- end -}}
{{- $yaml -}}
{{- end -}}

{{/*
authelia.secretFiles: env var → file under /secrets, for every secret the
configuration needs. Takes root.
*/}}
{{- define "nex-charts.authelia.secretEnv" -}}
{{- $env := list
  (dict "name" "AUTHELIA_IDENTITY_VALIDATION_RESET_PASSWORD_JWT_SECRET_FILE" "value" "/secrets/jwt-secret")
  (dict "name" "AUTHELIA_SESSION_SECRET_FILE" "value" "/secrets/session-secret")
  (dict "name" "AUTHELIA_STORAGE_ENCRYPTION_KEY_FILE" "value" "/secrets/storage-encryption-key") -}}
{{- if eq .Values.storage.type "postgres" -}}
{{- $env = append $env (dict "name" "AUTHELIA_STORAGE_POSTGRES_PASSWORD_FILE" "value" "/secrets/storage-postgres-password") -}}
{{- end -}}
{{- if .Values.smtp.passwordSecret.name -}}
{{- $env = append $env (dict "name" "AUTHELIA_NOTIFIER_SMTP_PASSWORD_FILE" "value" "/secrets/notifier-smtp-password") -}}
{{- end -}}
{{- if eq .Values.authentication.backend "ldap" -}}
{{- $env = append $env (dict "name" "AUTHELIA_AUTHENTICATION_BACKEND_LDAP_PASSWORD_FILE" "value" "/secrets/ldap-password") -}}
{{- end -}}
{{- if .Values.existingConfigMap -}}
{{- /* The user's file may not say it; the environment wins over the file (internal/configuration/sources.go). */}}
{{- $env = append $env (dict "name" "AUTHELIA_SERVER_DISABLE_HEALTHCHECK" "value" "true") -}}
{{- end -}}
{{- if .Values.oidc.enabled -}}
{{- $env = append $env (dict "name" "AUTHELIA_IDENTITY_PROVIDERS_OIDC_HMAC_SECRET_FILE" "value" "/secrets/oidc-hmac-secret") -}}
{{- $env = append $env (dict "name" "X_AUTHELIA_CONFIG_FILTERS" "value" "template") -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{/*
authelia.outlivesRelease: "true" when what the storage encryption key protects
outlives the release — an external PostgreSQL, or SQLite on a claim that is
retained or not the chart's (existingClaim). The generated Secret is then kept
on uninstall, so a reinstall reads the same key back instead of generating one
the old database refuses.
*/}}
{{- define "nex-charts.authelia.outlivesRelease" -}}
{{- $p := .Values.persistence -}}
{{- if or (eq .Values.storage.type "postgres") (and $p.enabled (or $p.retain $p.existingClaim)) }}true{{ end -}}
{{- end -}}

{{/* authelia.secretAnnotations: the generated Secret's annotations (a YAML map, maybe empty). */}}
{{- define "nex-charts.authelia.secretAnnotations" -}}
{{- if include "nex-charts.authelia.outlivesRelease" . -}}
helm.sh/resource-policy: keep
{{- end -}}
{{- end -}}

{{/*
authelia.secretKeys: the keys of the chart's (or the existing) Secret that the
Authelia process reads — never `admin-password` (plaintext) or its hash, which
reach Authelia only inside users_database.yml.
*/}}
{{- define "nex-charts.authelia.secretKeys" -}}
{{- $keys := list "jwt-secret" "session-secret" "storage-encryption-key" -}}
{{- if .Values.oidc.enabled -}}
{{- $keys = concat $keys (list "oidc-hmac-secret" "oidc-jwks-key.pem") -}}
{{- end -}}
{{- if eq .Values.authentication.backend "file" -}}
{{- $keys = append $keys "users_database.yml" -}}
{{- end -}}
{{- toYaml $keys -}}
{{- end -}}

{{/* authelia.secretSources: the projected sources of the /secrets volume. */}}
{{- define "nex-charts.authelia.secretSources" -}}
{{- $items := list -}}
{{- range include "nex-charts.authelia.secretKeys" . | fromYamlArray -}}
{{- $items = append $items (dict "key" . "path" .) -}}
{{- end -}}
{{- $src := list (dict "secret" (dict "name" (include "nex-charts.common.names.secret" .) "items" $items)) -}}
{{- if eq .Values.storage.type "postgres" -}}
{{- $s := required "storage.postgres.passwordSecret.name is required with storage.type postgres" .Values.storage.postgres.passwordSecret.name -}}
{{- $src = append $src (dict "secret" (dict "name" $s "items" (list (dict "key" .Values.storage.postgres.passwordSecret.key "path" "storage-postgres-password")))) -}}
{{- end -}}
{{- with .Values.smtp.passwordSecret.name -}}
{{- $src = append $src (dict "secret" (dict "name" . "items" (list (dict "key" $.Values.smtp.passwordSecret.key "path" "notifier-smtp-password")))) -}}
{{- end -}}
{{- if eq .Values.authentication.backend "ldap" -}}
{{- $s := required "authentication.ldap.passwordSecret.name is required with the ldap backend" .Values.authentication.ldap.passwordSecret.name -}}
{{- $src = append $src (dict "secret" (dict "name" $s "items" (list (dict "key" .Values.authentication.ldap.passwordSecret.key "path" "ldap-password")))) -}}
{{- end -}}
{{- toYaml $src -}}
{{- end -}}
