{{/* The chart name, or nameOverride. */}}
{{- define "clusterzone.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The objects' name: fullnameOverride, else the release name when it holds the
chart name (release "clusterzone" gives "clusterzone", as in deploy/), else
RELEASE-clusterzone.
*/}}
{{- define "clusterzone.fullname" -}}
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

{{- define "clusterzone.selectorLabels" -}}
app.kubernetes.io/name: {{ include "clusterzone.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "clusterzone.labels" -}}
{{ include "clusterzone.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "clusterzone.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "clusterzone.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The route53 block of the Corefile, indented for the clusterzone block. */}}
{{- define "clusterzone.route53" -}}
{{- $r := .Values.route53 }}
{{- if not $r.zones }}
{{- fail "route53.enabled needs at least one entry in route53.zones ({name: ZONE} with an id or a type: public|private)" }}
{{- end -}}
route53 {
{{- range $r.zones }}
{{- if not .name }}
{{- fail "every route53.zones entry needs a name" }}
{{- end }}
{{- if and .id .type }}
{{- fail (printf "route53.zones %s: give an id or a type, not both" .name) }}
{{- end }}
{{- if and .type (not (has .type (list "public" "private"))) }}
{{- fail (printf "route53.zones %s: type %q, want public or private" .name .type) }}
{{- end }}
    zone {{ .name }}{{ with .id }} {{ . }}{{ end }}{{ with .type }} {{ . }}{{ end }}
{{- end }}
{{- if not (has $r.policy (list "sync" "upsert-only" "create-only")) }}
{{- fail (printf "route53.policy %q: want sync, upsert-only or create-only" $r.policy) }}
{{- end }}
    policy {{ $r.policy }}
{{- with $r.region }}
    region {{ . }}
{{- end }}
{{- with $r.interval }}
    interval {{ . }}
{{- end }}
{{- with $r.extra }}
{{ . | trim | indent 4 }}
{{- end }}
}
{{- end }}

{{/* The clusterzone block of the Corefile. */}}
{{- define "clusterzone.block" -}}
{{- $c := .Values.clusterzone -}}
clusterzone {
    owner-id {{ required "ownerId is required" .Values.ownerId }}
{{- if not (kindIs "invalid" $c.ttl) }}
    ttl {{ $c.ttl | int64 }}
{{- end }}
{{- with $c.namespaces }}
    namespaces {{ join " " . }}
{{- end }}
{{- with $c.labels }}
    labels {{ . }}
{{- end }}
{{- with $c.addresses }}
    addresses {{ . }}
{{- end }}
{{- with $c.serviceTypes }}
    service-types {{ join " " . }}
{{- end }}
{{- if not $c.events }}
    events off
{{- end }}
{{- with $c.ns }}
    ns {{ required "clusterzone.ns.name is required when clusterzone.ns is set" .name }}{{ with .addresses }} {{ join " " . }}{{ end }}
{{- end }}
{{- with $c.extra }}
{{ . | trim | indent 4 }}
{{- end }}
{{- if .Values.route53.enabled }}
{{ include "clusterzone.route53" . | indent 4 }}
{{- end }}
}
{{- end }}
