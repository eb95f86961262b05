{{/*
The pod and its main container, built from the values contract plus what the
chart adds (args, config volumes). Parameters, all optional except context:
  context           the chart's root context
  kind              Deployment (default) or StatefulSet
  command, args     lists for the main container
  env               list of EnvVar the chart adds before `.Values.env`
  envFrom           list of EnvFromSource the chart adds before `.Values.envFrom`
  volumes           list of Volumes the chart adds (config, secrets)
  volumeMounts      list of VolumeMounts the chart adds
  writablePaths     paths that get an emptyDir (default: ["/tmp"])
  checksums         dict annotation-suffix → template file in the chart's templates/
                    (e.g. (dict "config" "configmap.yaml")): pods roll when it changes
  podSecurityContext dict merged last into the pod security context (e.g. sysctls)
  securityContext   dict merged last into the main container's security context (an
                    opt-in mode that needs more, e.g. capabilities; declare the exception)
  initContainers    list of complete init containers the chart adds (e.g. seeding a
                    writable config); build their securityContext with nex-charts.common.security.container
  serviceAccountToken bool: mount the ServiceAccount token or not, overriding the default
                    (mounted only when `serviceAccount.rules`/`clusterRules` grant RBAC); for charts
                    that grant their own rules through nex-charts.common.serviceAccount.rbac
  podSpec           dict of extra pod spec fields (e.g. hostNetwork, dnsPolicy), rendered
                    after enableServiceLinks; the chart owns the policy cost of what it sets
*/}}

{{/* nex-charts.common.pod.template: the workload's spec.template. */}}
{{- define "nex-charts.common.pod.template" -}}
{{- $ctx := .context -}}
{{- $v := $ctx.Values -}}
metadata:
  labels:
    {{- include "nex-charts.common.labels.standard" $ctx | nindent 4 }}
    {{- with $v.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- $ann := include "nex-charts.common.pod.annotations" . | fromYaml }}
  {{- with $ann }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with include "nex-charts.common.images.pullSecrets" $ctx }}
  {{- . | nindent 2 }}
  {{- end }}
  serviceAccountName: {{ include "nex-charts.common.names.serviceAccount" $ctx }}
  {{- if kindIs "bool" .serviceAccountToken }}
  automountServiceAccountToken: {{ .serviceAccountToken }}
  {{- else }}
  automountServiceAccountToken: {{ include "nex-charts.common.rbac.enabled" $ctx | eq "true" }}
  {{- end }}
  enableServiceLinks: false
  {{- with .podSpec }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  securityContext:
    {{- include "nex-charts.common.security.pod" (dict "context" $ctx "extra" .podSecurityContext) | nindent 4 }}
  {{- with .initContainers }}
  initContainers:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - {{ include "nex-charts.common.pod.container" . | nindent 6 | trim }}
  {{- with include "nex-charts.common.pod.volumes" . | fromYamlArray }}
  volumes:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- range . }}
    - {{ toYaml (merge (deepCopy .) (dict "labelSelector" (dict "matchLabels" (include "nex-charts.common.labels.selector" $ctx | fromYaml)))) | nindent 6 | trim }}
    {{- end }}
  {{- end }}
{{- end -}}

{{/* nex-charts.common.pod.annotations: checksum/* of the chart's config templates, then `podAnnotations`. */}}
{{- define "nex-charts.common.pod.annotations" -}}
{{- $ctx := .context -}}
{{- range $suffix, $file := .checksums }}
checksum/{{ $suffix }}: {{ include (print $ctx.Template.BasePath "/" $file) $ctx | sha256sum }}
{{- end }}
{{- with $ctx.Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* nex-charts.common.pod.container: the main container. */}}
{{- define "nex-charts.common.pod.container" -}}
{{- $ctx := .context -}}
{{- $v := $ctx.Values -}}
name: {{ $ctx.Chart.Name }}
image: {{ include "nex-charts.common.images.image" (dict "image" $v.image "context" $ctx) | quote }}
imagePullPolicy: {{ include "nex-charts.common.images.pullPolicy" $v.image }}
{{- with .command }}
command:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .args }}
args:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with include "nex-charts.common.service.enabledPorts" $ctx | fromYaml }}
ports:
  {{- range $name, $p := . }}
  - name: {{ $name }}
    containerPort: {{ default $p.port (get $p "containerPort") }}
    protocol: {{ default "TCP" (get $p "protocol") }}
  {{- end }}
{{- end }}
{{- $env := include "nex-charts.common.pod.env" . | fromYamlArray }}
{{- with $env }}
env:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- $envFrom := concat (default (list) .envFrom) (default (list) $v.envFrom) }}
{{- with $envFrom }}
envFrom:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- range $probe := list "startup" "readiness" "liveness" }}
{{- $spec := get $v.probes $probe }}
{{- if and $spec (get $spec "enabled") }}
{{ $probe }}Probe:
  {{- toYaml (omit $spec "enabled") | nindent 2 }}
{{- end }}
{{- end }}
resources:
  {{- toYaml (default (dict) $v.resources) | nindent 2 }}
securityContext:
  {{- $sc := include "nex-charts.common.security.container" $v.securityContext | fromYaml }}
  {{- with .securityContext }}{{ $sc = mergeOverwrite $sc (deepCopy .) }}{{ end }}
  {{- toYaml $sc | nindent 2 }}
{{- with include "nex-charts.common.pod.volumeMounts" . | fromYamlArray }}
volumeMounts:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/*
nex-charts.common.pod.env: the chart's env list, then `.Values.env` — a map of
NAME: value, or NAME: {valueFrom: …} for references.
*/}}
{{- define "nex-charts.common.pod.env" -}}
{{- $out := list -}}
{{- range .env }}{{ $out = append $out . }}{{ end -}}
{{- range $name, $val := .context.Values.env -}}
{{- if kindIs "map" $val -}}
{{- $out = append $out (merge (dict "name" $name) $val) -}}
{{- else -}}
{{- $out = append $out (dict "name" $name "value" (toString $val)) -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* nex-charts.common.pod.writableName: an emptyDir volume name for a path (/var/cache/app → var-cache-app). */}}
{{- define "nex-charts.common.pod.writableName" -}}
{{- . | trimPrefix "/" | replace "/" "-" | replace "_" "-" | replace "." "-" | lower | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* nex-charts.common.pod.dataVolume: true when `persistence` mounts a volume named `data`. */}}
{{- define "nex-charts.common.pod.hasData" -}}
{{- $p := .context.Values.persistence -}}
{{- if and $p (get $p "mountPath") -}}true{{- end -}}
{{- end -}}

{{- define "nex-charts.common.pod.volumes" -}}
{{- $ctx := .context -}}
{{- $v := $ctx.Values -}}
{{- $out := list -}}
{{- range .volumes }}{{ $out = append $out . }}{{ end -}}
{{- range (ternary (list "/tmp") .writablePaths (kindIs "invalid" .writablePaths)) -}}
{{- $out = append $out (dict "name" (include "nex-charts.common.pod.writableName" .) "emptyDir" (dict)) -}}
{{- end -}}
{{- if include "nex-charts.common.pod.hasData" . -}}
{{- $p := $v.persistence -}}
{{- if $p.enabled -}}
{{- if or $p.existingClaim (ne (default "Deployment" .kind) "StatefulSet") -}}
{{- $out = append $out (dict "name" "data" "persistentVolumeClaim" (dict "claimName" (include "nex-charts.common.names.claim" $ctx))) -}}
{{- end -}}
{{- else -}}
{{- $out = append $out (dict "name" "data" "emptyDir" (dict)) -}}
{{- end -}}
{{- end -}}
{{- range $v.extraVolumes }}{{ $out = append $out . }}{{ end -}}
{{- toYaml $out -}}
{{- end -}}

{{- define "nex-charts.common.pod.volumeMounts" -}}
{{- $ctx := .context -}}
{{- $v := $ctx.Values -}}
{{- $out := list -}}
{{- range .volumeMounts }}{{ $out = append $out . }}{{ end -}}
{{- range (ternary (list "/tmp") .writablePaths (kindIs "invalid" .writablePaths)) -}}
{{- $out = append $out (dict "name" (include "nex-charts.common.pod.writableName" .) "mountPath" .) -}}
{{- end -}}
{{- if include "nex-charts.common.pod.hasData" . -}}
{{- $m := dict "name" "data" "mountPath" $v.persistence.mountPath -}}
{{- with get $v.persistence "subPath" }}{{ $_ := set $m "subPath" . }}{{ end -}}
{{- $out = append $out $m -}}
{{- end -}}
{{- range $v.extraVolumeMounts }}{{ $out = append $out . }}{{ end -}}
{{- toYaml $out -}}
{{- end -}}
