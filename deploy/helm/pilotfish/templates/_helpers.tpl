{{/*
Names. With the release called "pilotfish" (the documented install) every name equals the default
the pilotfish binary uses without flags; any other release name is passed to it as flags.
*/}}
{{- define "pilotfish.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "pilotfish.serviceName" -}}{{ include "pilotfish.fullname" . }}{{- end -}}
{{- define "pilotfish.serviceAccountName" -}}{{ include "pilotfish.fullname" . }}{{- end -}}
{{- define "pilotfish.webhookConfigName" -}}{{ include "pilotfish.fullname" . }}-sidecar-injector{{- end -}}
{{- define "pilotfish.tlsSecretName" -}}{{ include "pilotfish.fullname" . }}-webhook-tls{{- end -}}
{{- define "pilotfish.leaseName" -}}{{ include "pilotfish.fullname" . }}-leader{{- end -}}

{{- define "pilotfish.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: control-plane
{{- end -}}

{{- define "pilotfish.labels" -}}
{{ include "pilotfish.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "pilotfish.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{/*
What injected pods dial: the Service's TLS xDS port, by its cluster DNS name (the pod agent
forwards every proxy's xDS there over mutual TLS; proxies never dial the control plane directly).
*/}}
{{- define "pilotfish.xdsAddress" -}}
{{ include "pilotfish.serviceName" . }}.{{ .Release.Namespace }}.svc:{{ include "pilotfish.port.xdsTls" . }}
{{- end -}}

{{- define "pilotfish.caSecretName" -}}pilotfish-ca{{- end -}}
{{- define "pilotfish.debugReaderRoleName" -}}{{ include "pilotfish.fullname" . }}-debug-reader{{- end -}}

{{/* Ports are fixed (DESIGN.md); the Service maps 443 to the webhook port. 15010 is plaintext (tests only). */}}
{{- define "pilotfish.port.xds" -}}15010{{- end -}}
{{- define "pilotfish.port.xdsTls" -}}15012{{- end -}}
{{- define "pilotfish.port.http" -}}15014{{- end -}}
{{- define "pilotfish.port.webhook" -}}15017{{- end -}}
