{{/* The name every object shares: the release name, or RELEASE-imgdigest-webhook. */}}
{{- define "imgdigest-webhook.fullname" -}}
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

{{- define "imgdigest-webhook.selectorLabels" -}}
app.kubernetes.io/name: {{ default .Chart.Name .Values.nameOverride }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "imgdigest-webhook.labels" -}}
{{ include "imgdigest-webhook.selectorLabels" . }}
app.kubernetes.io/part-of: imgdigest
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* repository:tag, with @digest when one is given: the webhook deployed by digest. */}}
{{- define "imgdigest-webhook.image" -}}
{{- $image := printf "%s:%s" .Values.image.repository .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- $image = printf "%s@%s" $image .Values.image.digest -}}
{{- end -}}
{{- $image -}}
{{- end -}}

{{/* Which namespaces the webhooks see (the same for validate and mutate). */}}
{{- define "imgdigest-webhook.namespaceSelector" -}}
{{- if .Values.optInNamespaces -}}
matchLabels:
  imgdigest.dev/enforce: "true"
{{- else -}}
# Never kube-system nor the webhook's own namespace (it must be able to start),
# nor a namespace labelled imgdigest.dev/skip=true.
matchExpressions:
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values: [kube-system, {{ .Release.Namespace }}]
  - key: imgdigest.dev/skip
    operator: NotIn
    values: ["true"]
{{- end -}}
{{- end -}}

{{/* The service the API server calls, and the CA it trusts. */}}
{{- define "imgdigest-webhook.clientConfig" -}}
service:
  name: {{ include "imgdigest-webhook.fullname" .root }}
  namespace: {{ .root.Release.Namespace }}
  path: {{ .path }}
  port: 443
{{- if and (not .root.Values.tls.certManager.enabled) .root.Values.tls.caBundle }}
caBundle: {{ .root.Values.tls.caBundle }}
{{- end }}
{{- end -}}

{{- define "imgdigest-webhook.annotations" -}}
{{- if .Values.tls.certManager.enabled -}}
annotations:
  cert-manager.io/inject-ca-from: {{ .Release.Namespace }}/{{ include "imgdigest-webhook.fullname" . }}
{{- end -}}
{{- end -}}
