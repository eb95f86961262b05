{{/*
nex-charts.common.ingress: a networking.k8s.io/v1 Ingress to the Service port named
`ingress.servicePort` (default `http`). Takes root; renders nothing when disabled.
*/}}
{{- define "nex-charts.common.ingress" -}}
{{- $i := .Values.ingress -}}
{{- if and $i $i.enabled -}}
{{- $ctx := . -}}
{{- $port := default "http" (get $i "servicePort") -}}
{{- $_ := include "nex-charts.common.service.port" (dict "context" . "name" $port) -}}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  {{- include "nex-charts.common.metadata" (dict "context" . "labels" (get $i "labels") "annotations" (get $i "annotations")) | nindent 2 }}
spec:
  {{- with get $i "className" }}
  ingressClassName: {{ . }}
  {{- end }}
  {{- with get $i "tls" }}
  tls:
    {{- range . }}
    - hosts:
        {{- toYaml .hosts | nindent 8 }}
      {{- with get . "secretName" }}
      secretName: {{ tpl . $ctx }}
      {{- end }}
    {{- end }}
  {{- end }}
  rules:
    {{- range required "ingress.hosts needs at least one host when ingress is enabled" $i.hosts }}
    - host: {{ tpl .host $ctx | quote }}
      http:
        paths:
          {{- range (default (list (dict "path" "/" "pathType" "Prefix")) (get . "paths")) }}
          - path: {{ .path }}
            pathType: {{ default "Prefix" (get . "pathType") }}
            backend:
              service:
                name: {{ include "nex-charts.common.names.fullname" $ctx }}
                port:
                  name: {{ $port }}
          {{- end }}
    {{- end }}
{{- end -}}
{{- end -}}

{{/*
nex-charts.common.route: a Gateway API (gateway.networking.k8s.io/v1) HTTPRoute attached
to `route.parentRefs`, for `route.hostnames`, to the Service port named
`route.servicePort` (default `http`). Takes root; nothing when disabled.
*/}}
{{- define "nex-charts.common.route" -}}
{{- $r := .Values.route -}}
{{- if and $r $r.enabled -}}
{{- $ctx := . -}}
{{- $port := default "http" (get $r "servicePort") -}}
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  {{- include "nex-charts.common.metadata" (dict "context" . "labels" (get $r "labels") "annotations" (get $r "annotations")) | nindent 2 }}
spec:
  parentRefs:
    {{- toYaml (required "route.parentRefs needs at least one Gateway when route is enabled" $r.parentRefs) | nindent 4 }}
  {{- with get $r "hostnames" }}
  hostnames:
    {{- range . }}
    - {{ tpl . $ctx | quote }}
    {{- end }}
  {{- end }}
  rules:
    - matches:
        {{- toYaml (default (list (dict "path" (dict "type" "PathPrefix" "value" "/"))) (get $r "matches")) | nindent 8 }}
      {{- with get $r "filters" }}
      filters:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      backendRefs:
        - name: {{ include "nex-charts.common.names.fullname" . }}
          port: {{ include "nex-charts.common.service.port" (dict "context" . "name" $port) }}
{{- end -}}
{{- end -}}
