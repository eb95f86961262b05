{{/*
The helm test pod: restricted like the app, image from `tests.image` (never
hard-coded), labelled so the NetworkPolicy lets it in and the Service never
selects it. Parameters:
  context   the chart's root context
  name      suffix of the pod name (default "test")
  command   the test's command (a list)
*/}}
{{- define "nex-charts.common.tests.pod" -}}
{{- $ctx := .context -}}
{{- $t := $ctx.Values.tests -}}
{{- if and $t $t.enabled -}}
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "nex-charts.common.names.suffixed" (dict "context" $ctx "suffix" (default "test" .name)) }}
  namespace: {{ include "nex-charts.common.names.namespace" $ctx }}
  labels:
    {{- include "nex-charts.common.labels.test" $ctx | nindent 4 }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  enableServiceLinks: false
  {{- with include "nex-charts.common.images.pullSecrets" $ctx }}
  {{- . | nindent 2 }}
  {{- end }}
  securityContext:
    {{- include "nex-charts.common.security.pod" (dict "context" $ctx) | nindent 4 }}
  containers:
    - name: test
      image: {{ include "nex-charts.common.images.image" (dict "image" $t.image "context" $ctx) | quote }}
      imagePullPolicy: {{ include "nex-charts.common.images.pullPolicy" $t.image }}
      command:
        {{- toYaml .command | nindent 8 }}
      resources:
        {{- toYaml (default (dict) $t.resources) | nindent 8 }}
      securityContext:
        {{- include "nex-charts.common.security.container" $ctx.Values.securityContext | nindent 8 }}
  {{- with $ctx.Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $ctx.Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
{{- end -}}

{{/*
nex-charts.common.tests.http: a test that the Service answers on an HTTP path with a
2xx status, retrying while the app starts. Needs curl in `tests.image`.
Takes (dict "context" $ "path" "/health" "port" "http").
*/}}
{{- define "nex-charts.common.tests.http" -}}
{{- $url := printf "%s%s" (include "nex-charts.common.service.url" (dict "context" .context "name" (default "http" .port))) (default "/" .path) -}}
{{- include "nex-charts.common.tests.pod" (dict "context" .context "name" "test" "command" (list "curl" "--fail" "--silent" "--show-error" "--max-time" "5" "--retry" "10" "--retry-delay" "3" "--retry-all-errors" "--output" "/dev/null" "--write-out" "%{http_code} %{url_effective}\\n" $url)) -}}
{{- end -}}
