{{/*
nex-charts.common.networkPolicy: on by default. It selects the app's pods and allows:
- in: to the *served* ports (`networkPolicy.servedPorts`; by default the
  Service ports `ingress.servicePort` and `route.servicePort` name) from
  `networkPolicy.gateway` — from any source while it is empty, so every
  ingress controller and Gateway implementation (wherever it runs) reaches
  them; a NetworkPolicyPeer narrows it. From the release's helm test pod to
  every Service port; from `networkPolicy.monitoring` to the ServiceMonitor
  port when `serviceMonitor.enabled`; plus `networkPolicy.extraIngress`.
  Every other port stays closed;
- out: DNS (port 53, UDP and TCP) when `networkPolicy.egress.dns`, plus
  `networkPolicy.egress.rules`. No rules at all denies all egress.
Takes root.
*/}}
{{- define "nex-charts.common.networkPolicy" -}}
{{- $np := .Values.networkPolicy -}}
{{- if and $np $np.enabled -}}
{{- $ctx := . -}}
{{- $enabled := include "nex-charts.common.service.enabledPorts" . | fromYaml -}}
{{- $ports := list -}}
{{- range $name, $p := $enabled -}}
{{- $ports = append $ports (dict "port" $name "protocol" (default "TCP" (get $p "protocol"))) -}}
{{- end -}}
{{- $egress := default (dict) $np.egress -}}
{{- $served := list -}}
{{- if kindIs "slice" (get $np "servedPorts") -}}
{{- $served = get $np "servedPorts" -}}
{{- else -}}
{{- range $block := list (get .Values "ingress") (get .Values "route") -}}
{{- if and (kindIs "map" $block) (get $block "servicePort") -}}
{{- $served = append $served (get $block "servicePort") -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $servedPorts := list -}}
{{- range $name := uniq $served -}}
{{- $p := get $enabled (toString $name) -}}
{{- if not $p -}}
{{- if not (hasKey $ctx.Values.service.ports (toString $name)) -}}
{{- fail (printf "networkPolicy: served port %q is not in service.ports" (toString $name)) -}}
{{- end -}}
{{- else -}}
{{- $servedPorts = append $servedPorts (dict "port" (toString $name) "protocol" (default "TCP" (get $p "protocol"))) -}}
{{- end -}}
{{- end -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  {{- include "nex-charts.common.metadata" (dict "context" .) | nindent 2 }}
spec:
  podSelector:
    matchLabels:
      {{- include "nex-charts.common.labels.selector" . | nindent 6 }}
  policyTypes:
    - Ingress
    - Egress
  {{- $testsOn := and .Values.tests .Values.tests.enabled }}
  {{- $scraped := and .Values.serviceMonitor .Values.serviceMonitor.enabled $np.monitoring }}
  {{- if not (or $servedPorts $testsOn $scraped $np.extraIngress) }}
  # No ingress rule: nothing may connect.
  ingress: []
  {{- else }}
  ingress:
    {{- if $servedPorts }}
    {{- if $np.gateway }}
    - from:
        - {{ toYaml $np.gateway | nindent 10 | trim }}
      ports:
    {{- else }}
    # The served ports, from any source: networkPolicy.gateway names none.
    - ports:
    {{- end }}
        {{- toYaml $servedPorts | nindent 8 }}
    {{- end }}
    {{- if and .Values.tests .Values.tests.enabled }}
    - from:
        - podSelector:
            matchLabels:
              {{- include "nex-charts.common.labels.testSelector" . | nindent 14 }}
      ports:
        {{- toYaml $ports | nindent 8 }}
    {{- end }}
    {{- if and .Values.serviceMonitor .Values.serviceMonitor.enabled $np.monitoring }}
    - from:
        - {{ toYaml $np.monitoring | nindent 10 | trim }}
      ports:
        - port: {{ default "http" .Values.serviceMonitor.port }}
          protocol: TCP
    {{- end }}
    {{- with $np.extraIngress }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
  {{- if or $egress.dns $egress.rules }}
  egress:
    {{- if $egress.dns }}
    - ports:
        - port: 53
          protocol: UDP
        - port: 53
          protocol: TCP
    {{- end }}
    {{- with $egress.rules }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- else }}
  # No egress rule: all egress is denied.
  egress: []
  {{- end }}
{{- end -}}
{{- end -}}
