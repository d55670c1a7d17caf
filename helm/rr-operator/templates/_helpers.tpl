{{/* The chart's name. */}}
{{- define "rr-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The objects' base name: the release name when it contains the chart's name
("rr-operator" for `helm install rr-operator`), else "<release>-<chart>".
*/}}
{{- define "rr-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "rr-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "rr-operator.labels" -}}
helm.sh/chart: {{ include "rr-operator.chart" . }}
app.kubernetes.io/name: {{ include "rr-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: rr-operator
{{- end }}

{{/* The operator Pods' selector. */}}
{{- define "rr-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rr-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "rr-operator.operatorServiceAccountName" -}}
{{- default (include "rr-operator.fullname" .) .Values.serviceAccounts.operator.name }}
{{- end }}

{{- define "rr-operator.agentServiceAccountName" -}}
{{- required "serviceAccounts.agent.name is required" .Values.serviceAccounts.agent.name }}
{{- end }}

{{/* Namespaces of reflector Pods, one a line. */}}
{{- define "rr-operator.reflectorNamespaces" -}}
{{- $namespaces := .Values.reflector.namespaces | default (list .Release.Namespace) }}
{{- range $namespaces | uniq }}
{{ . }}
{{- end }}
{{- end }}

{{/*
The API group of Calico's BGPPeers and BGPConfigurations for calicoAPI: the operator's rights
are on that group only (it touches no other Calico resource).
*/}}
{{- define "rr-operator.calicoGroup" -}}
{{- if eq .Values.calicoAPI "crd.projectcalico.org/v1" }}crd.projectcalico.org
{{- else if eq .Values.calicoAPI "projectcalico.org/v3" }}projectcalico.org
{{- else }}{{ fail (printf "calicoAPI must be crd.projectcalico.org/v1 or projectcalico.org/v3, not %q" .Values.calicoAPI) }}
{{- end }}
{{- end }}

{{- define "rr-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "rr-operator.reflectorImage" -}}
{{- printf "%s:%s" .Values.reflector.image.repository (default .Chart.AppVersion .Values.reflector.image.tag) }}
{{- end }}
