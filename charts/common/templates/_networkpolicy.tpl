{{/*
nex-charts.common.networkPolicy: on by default. It selects the app's pods and allows:
- in: from `networkPolicy.gateway` (a NetworkPolicyPeer: the ingress
  controller / Gateway pods) to every Service port; from the release's helm
  test pod; from `networkPolicy.monitoring` to the ServiceMonitor port when
  `serviceMonitor.enabled`; plus `networkPolicy.extraIngress` rules;
- out: DNS (port 53, UDP and TCP) when `networkPolicy.egress.dns`, plus
  `networkPolicy.egress.rules`. No rules at all denies all egress.
Takes root.
*/}}
{{- define "nex-charts.common.networkPolicy" -}}
{{- $np := .Values.networkPolicy -}}
{{- if and $np $np.enabled -}}
{{- $ctx := . -}}
{{- $ports := list -}}
{{- range $name, $p := .Values.service.ports -}}
{{- $ports = append $ports (dict "port" $name "protocol" (default "TCP" (get $p "protocol"))) -}}
{{- end -}}
{{- $egress := default (dict) $np.egress -}}
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
  {{- if not (or $np.gateway $testsOn $scraped $np.extraIngress) }}
  # No ingress rule: nothing may connect.
  ingress: []
  {{- else }}
  ingress:
    {{- with $np.gateway }}
    - from:
        - {{ toYaml . | nindent 10 | trim }}
      ports:
        {{- toYaml $ports | nindent 8 }}
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
