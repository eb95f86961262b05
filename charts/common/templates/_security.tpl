{{/*
Security contexts. The library's restricted defaults sit under whatever the
chart's values set: a chart (or user) changes a field by setting it, and a
field it forgets stays restricted. Values win over defaults.
*/}}

{{/* nex-charts.common.security.podDefaults: Pod Security "restricted" at pod level, fixed high UID/GID. */}}
{{- define "nex-charts.common.security.podDefaults" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* nex-charts.common.security.containerDefaults: "restricted" plus a read-only root filesystem. */}}
{{- define "nex-charts.common.security.containerDefaults" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
nex-charts.common.security.pod: `podSecurityContext` over the defaults, plus the
chart's `extra` (for example sysctls). Takes (dict "context" $ "extra" (dict)).
*/}}
{{- define "nex-charts.common.security.pod" -}}
{{- $sc := include "nex-charts.common.security.podDefaults" . | fromYaml -}}
{{- $sc = mergeOverwrite $sc (deepCopy (default (dict) .context.Values.podSecurityContext)) -}}
{{- with .extra }}{{ $sc = mergeOverwrite $sc (deepCopy .) }}{{ end -}}
{{- toYaml $sc -}}
{{- end -}}

{{/* nex-charts.common.security.container: a container security context over the defaults. Takes the values map (or nil). */}}
{{- define "nex-charts.common.security.container" -}}
{{- $sc := include "nex-charts.common.security.containerDefaults" . | fromYaml -}}
{{- $sc = mergeOverwrite $sc (deepCopy (default (dict) .)) -}}
{{- toYaml $sc -}}
{{- end -}}
