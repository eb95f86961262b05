{{/* homepage.files: config file name → the `config` value it comes from. */}}
{{- define "nex-charts.homepage.files" -}}
settings.yaml: settings
services.yaml: services
widgets.yaml: widgets
bookmarks.yaml: bookmarks
docker.yaml: docker
custom.css: customCss
custom.js: customJs
{{- end -}}

{{/* homepage.kubernetesConfigMap: the chart's own ConfigMap holding kubernetes.yaml when `existingConfigMap` is set. */}}
{{- define "nex-charts.homepage.kubernetesConfigMap" -}}
{{- printf "%s-kubernetes" (include "nex-charts.common.names.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* homepage.kubernetes: kubernetes.yaml from `kubernetes` (mode disabled unless enabled). */}}
{{- define "nex-charts.homepage.kubernetes" -}}
{{- $k := .Values.kubernetes -}}
{{- if $k.enabled -}}
{{- toYaml (dict "mode" "cluster" "ingress" $k.ingress "traefik" $k.traefik "gateway" $k.gateway) -}}
{{- else -}}
mode: disabled
{{- end -}}
{{- end -}}

{{/*
homepage.allowedHosts: HOMEPAGE_ALLOWED_HOSTS — the ingress hosts, route
hostnames, the Service's cluster names (with and without its port) and
`allowedHosts`, comma-separated. Homepage compares the Host header verbatim and
admits `localhost:<PORT>` itself (src/middleware.js); a probe's own Host header
is added too, so probes keep passing when the container port changes.
*/}}
{{- define "nex-charts.homepage.allowedHosts" -}}
{{- $hosts := list -}}
{{- if .Values.ingress.enabled -}}
{{- range .Values.ingress.hosts }}{{ $hosts = append $hosts (tpl .host $) }}{{ end -}}
{{- end -}}
{{- if .Values.route.enabled -}}
{{- range .Values.route.hostnames }}{{ $hosts = append $hosts (tpl . $) }}{{ end -}}
{{- end -}}
{{- $svc := include "nex-charts.common.names.fullname" . -}}
{{- $ns := include "nex-charts.common.names.namespace" . -}}
{{- $port := .Values.service.ports.http.port -}}
{{- range (list $svc (printf "%s.%s" $svc $ns) (printf "%s.%s.svc" $svc $ns) (printf "%s.%s.svc.cluster.local" $svc $ns)) -}}
{{- $hosts = append $hosts . -}}
{{- $hosts = append $hosts (printf "%s:%v" . $port) -}}
{{- end -}}
{{- range .Values.allowedHosts }}{{ $hosts = append $hosts . }}{{ end -}}
{{- range $name, $probe := .Values.probes -}}
{{- if and (kindIs "map" $probe) $probe.enabled $probe.httpGet -}}
{{- range $h := default (list) $probe.httpGet.httpHeaders -}}
{{- if and (eq (lower (toString $h.name)) "host") (ne (printf "localhost:%v" $.Values.service.ports.http.containerPort) (toString $h.value)) -}}
{{- $hosts = append $hosts (toString $h.value) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- join "," (uniq $hosts) -}}
{{- end -}}

{{/* homepage.clusterRules: read-only access for the Kubernetes integration, then `serviceAccount.clusterRules`. */}}
{{- define "nex-charts.homepage.clusterRules" -}}
{{- $rules := list -}}
{{- if .Values.kubernetes.enabled -}}
{{- $read := list "get" "list" -}}
{{- $rules = append $rules (dict "apiGroups" (list "") "resources" (list "namespaces" "pods" "nodes") "verbs" $read) -}}
{{- $rules = append $rules (dict "apiGroups" (list "metrics.k8s.io") "resources" (list "nodes" "pods") "verbs" $read) -}}
{{- if .Values.kubernetes.ingress -}}
{{- $rules = append $rules (dict "apiGroups" (list "networking.k8s.io") "resources" (list "ingresses") "verbs" $read) -}}
{{- end -}}
{{- if .Values.kubernetes.traefik -}}
{{- $rules = append $rules (dict "apiGroups" (list "traefik.io" "traefik.containo.us") "resources" (list "ingressroutes") "verbs" $read) -}}
{{- $rules = append $rules (dict "apiGroups" (list "apiextensions.k8s.io") "resources" (list "customresourcedefinitions/status") "verbs" (list "get")) -}}
{{- end -}}
{{- if .Values.kubernetes.gateway -}}
{{- $rules = append $rules (dict "apiGroups" (list "gateway.networking.k8s.io") "resources" (list "httproutes" "gateways") "verbs" $read) -}}
{{- end -}}
{{- end -}}
{{- toYaml (concat $rules (default (list) .Values.serviceAccount.clusterRules)) -}}
{{- end -}}
