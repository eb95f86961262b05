{{/*
Names. Every helper here takes the chart's root context (`.`).
*/}}

{{/* common.names.name: the chart name, or `nameOverride`; at most 63 characters. */}}
{{- define "common.names.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
common.names.fullname: `fullnameOverride`, else `<release>-<name>` (just the
release name when it already contains the chart name); at most 63 characters.
*/}}
{{- define "common.names.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* common.names.chart: `<chart>-<version>` for the helm.sh/chart label. */}}
{{- define "common.names.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* common.names.namespace: the release namespace. */}}
{{- define "common.names.namespace" -}}
{{- .Release.Namespace | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
common.names.suffixed: the fullname with a suffix, kept within 63 characters.
Takes (dict "context" $ "suffix" "test").
*/}}
{{- define "common.names.suffixed" -}}
{{- $base := include "common.names.fullname" .context | trunc (int (sub 62 (len .suffix))) | trimSuffix "-" -}}
{{- printf "%s-%s" $base .suffix -}}
{{- end -}}

{{/* common.names.serviceAccount: the ServiceAccount the pods run as. */}}
{{- define "common.names.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "common.names.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* common.names.configMap: the ConfigMap holding the app's configuration (`existingConfigMap` wins). */}}
{{- define "common.names.configMap" -}}
{{- default (include "common.names.fullname" .) .Values.existingConfigMap -}}
{{- end -}}

{{/* common.names.secret: the Secret holding the app's secrets (`existingSecret` wins). */}}
{{- define "common.names.secret" -}}
{{- default (include "common.names.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{/* common.names.claim: the PersistentVolumeClaim of `persistence` (`existingClaim` wins). */}}
{{- define "common.names.claim" -}}
{{- default (include "common.names.fullname" .) .Values.persistence.existingClaim -}}
{{- end -}}
