{{/*
nex-charts.common.service: the Service in front of the app. `service.ports` is a map
name → {enabled, port, containerPort, protocol, appProtocol, nodePort}; the
container ports carry the same names, so the Service targets them by name. A
port set `enabled: false` (an opt-in port a chart lists off) is left out
everywhere: Service, container and NetworkPolicy.
Takes root.
*/}}
{{- define "nex-charts.common.service" -}}
{{- $s := .Values.service -}}
apiVersion: v1
kind: Service
metadata:
  {{- include "nex-charts.common.metadata" (dict "context" . "labels" $s.labels "annotations" $s.annotations) | nindent 2 }}
spec:
  type: {{ default "ClusterIP" $s.type }}
  {{- with get $s "externalTrafficPolicy" }}
  externalTrafficPolicy: {{ . }}
  {{- end }}
  {{- with get $s "loadBalancerIP" }}
  loadBalancerIP: {{ . }}
  {{- end }}
  {{- with get $s "loadBalancerClass" }}
  loadBalancerClass: {{ . }}
  {{- end }}
  ports:
    {{- range $name, $p := include "nex-charts.common.service.enabledPorts" . | fromYaml }}
    - name: {{ $name }}
      port: {{ $p.port }}
      targetPort: {{ $name }}
      protocol: {{ default "TCP" (get $p "protocol") }}
      {{- with get $p "appProtocol" }}
      appProtocol: {{ . }}
      {{- end }}
      {{- if and (get $p "nodePort") (has (default "ClusterIP" $s.type) (list "NodePort" "LoadBalancer")) }}
      nodePort: {{ get $p "nodePort" }}
      {{- end }}
    {{- end }}
  selector:
    {{- include "nex-charts.common.labels.selector" . | nindent 4 }}
{{- end -}}

{{/* nex-charts.common.service.enabledPorts: `service.ports` without the entries set `enabled: false`, as YAML for fromYaml. Takes root. */}}
{{- define "nex-charts.common.service.enabledPorts" -}}
{{- $out := dict -}}
{{- range $name, $p := .Values.service.ports -}}
{{- if ne (toString (get $p "enabled")) "false" -}}
{{- $_ := set $out $name (omit $p "enabled") -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* nex-charts.common.service.port: the Service port number of a named port. Takes (dict "context" $ "name" "http"). */}}
{{- define "nex-charts.common.service.port" -}}
{{- $p := get (include "nex-charts.common.service.enabledPorts" .context | fromYaml) .name -}}
{{- if not $p }}{{ fail (printf "service.ports has no enabled port named %q" .name) }}{{ end -}}
{{- $p.port -}}
{{- end -}}

{{/* nex-charts.common.service.url: http://<service>.<namespace>.svc:<port> for a named port. */}}
{{- define "nex-charts.common.service.url" -}}
{{- printf "%s://%s.%s.svc:%s" (default "http" .scheme) (include "nex-charts.common.names.fullname" .context) (include "nex-charts.common.names.namespace" .context) (include "nex-charts.common.service.port" .) -}}
{{- end -}}
