{{/*
Names. Every helper here takes the chart's root context (`.`).
*/}}

{{/* nex-charts.common.names.name: the chart name, or `nameOverride`; at most 63 characters. */}}
{{- define "nex-charts.common.names.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
nex-charts.common.names.fullname: `fullnameOverride`, else `<release>-<name>` (just the
release name when it already contains the chart name); at most 63 characters.
*/}}
{{- define "nex-charts.common.names.fullname" -}}
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

{{/* nex-charts.common.names.chart: `<chart>-<version>` for the helm.sh/chart label. */}}
{{- define "nex-charts.common.names.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* nex-charts.common.names.namespace: the release namespace. */}}
{{- define "nex-charts.common.names.namespace" -}}
{{- .Release.Namespace | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
nex-charts.common.names.suffixed: the fullname with a suffix, kept within 63 characters.
Takes (dict "context" $ "suffix" "test").
*/}}
{{- define "nex-charts.common.names.suffixed" -}}
{{- $base := include "nex-charts.common.names.fullname" .context | trunc (int (sub 62 (len .suffix))) | trimSuffix "-" -}}
{{- printf "%s-%s" $base .suffix -}}
{{- end -}}

{{/* nex-charts.common.names.serviceAccount: the ServiceAccount the pods run as. */}}
{{- define "nex-charts.common.names.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "nex-charts.common.names.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* nex-charts.common.names.configMap: the ConfigMap holding the app's configuration (`existingConfigMap` wins). */}}
{{- define "nex-charts.common.names.configMap" -}}
{{- default (include "nex-charts.common.names.fullname" .) .Values.existingConfigMap -}}
{{- end -}}

{{/* nex-charts.common.names.secret: the Secret holding the app's secrets (`existingSecret` wins). */}}
{{- define "nex-charts.common.names.secret" -}}
{{- default (include "nex-charts.common.names.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{/* nex-charts.common.names.claim: the PersistentVolumeClaim of `persistence` (`existingClaim` wins). */}}
{{- define "nex-charts.common.names.claim" -}}
{{- default (include "nex-charts.common.names.fullname" .) .Values.persistence.existingClaim -}}
{{- end -}}
