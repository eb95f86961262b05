{{/*
Persistence: one volume named `data` at `persistence.mountPath`. Enabled, it is
a PersistentVolumeClaim (or `existingClaim`); disabled, an emptyDir, so the
path stays writable under a read-only root filesystem.
*/}}

{{/* nex-charts.common.persistence.claimSpec: accessModes, size and storageClassName ("-" → ""). Takes root. */}}
{{- define "nex-charts.common.persistence.claimSpec" -}}
{{- $p := .Values.persistence -}}
accessModes:
  {{- toYaml (default (list "ReadWriteOnce") $p.accessModes) | nindent 2 }}
resources:
  requests:
    storage: {{ default "1Gi" $p.size | quote }}
{{- with $p.storageClass }}
storageClassName: {{ ternary "" . (eq . "-") | quote }}
{{- end }}
{{- end -}}

{{/*
nex-charts.common.persistence.pvc: the claim, for a Deployment with persistence enabled and
no `existingClaim`. `persistence.retain` keeps it on uninstall. Takes
(dict "context" $ "kind" "Deployment").
*/}}
{{- define "nex-charts.common.persistence.pvc" -}}
{{- $ctx := .context -}}
{{- $p := $ctx.Values.persistence -}}
{{- if and $p.enabled (not $p.existingClaim) (ne (default "Deployment" .kind) "StatefulSet") -}}
{{- $ann := deepCopy (default (dict) $p.annotations) -}}
{{- if $p.retain }}{{ $_ := set $ann "helm.sh/resource-policy" "keep" }}{{ end -}}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  {{- include "nex-charts.common.metadata" (dict "context" $ctx "annotations" $ann) | nindent 2 }}
spec:
  {{- include "nex-charts.common.persistence.claimSpec" $ctx | nindent 2 }}
{{- end -}}
{{- end -}}
