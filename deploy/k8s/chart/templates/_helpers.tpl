{{/* Helpers of the d07 chart. Resource names are the services' names: name = label = image. */}}

{{- define "d07.chart" -}}
{{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/* Labels of every object; call with (dict "root" $ "name" NAME "component" COMPONENT). */}}
{{- define "d07.labels" -}}
{{ include "d07.selectorLabels" . }}
app.kubernetes.io/part-of: d07
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ include "d07.tag" .root | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "d07.chart" .root }}
{{- end -}}

{{- define "d07.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "d07.tag" -}}
{{ .Values.global.imageTag | default .Chart.AppVersion }}
{{- end -}}

{{/* The image of a service; call with (dict "root" $ "name" NAME). */}}
{{- define "d07.image" -}}
{{- $repo := printf "d07/%s" .name -}}
{{- with .root.Values.global.imageRegistry }}{{ $repo = printf "%s/%s" (trimSuffix "/" .) $repo }}{{ end -}}
{{- $digest := (index .root.Values.services .name).imageDigest | default "" -}}
{{- if $digest -}}
{{ printf "%s@%s" $repo $digest }}
{{- else -}}
{{ printf "%s:%s" $repo (include "d07.tag" .root) }}
{{- end -}}
{{- end -}}

{{/* The gRPC health service name of a service: d07.<name>.v1.<Name>Service. */}}
{{- define "d07.grpcService" -}}
{{ printf "d07.%s.v1.%sService" . (title .) }}
{{- end -}}

{{- define "d07.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "d07.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
capabilities:
  drop: ["ALL"]
{{- end -}}

{{/* Environment from the shared ConfigMap and the service's Secret; call with (dict "root" $ "svc" SVC
     "token" BOOL). */}}
{{- define "d07.env" -}}
envFrom:
  - configMapRef:
      name: d07-config
env:
  - name: D07_DATABASE_URL
    valueFrom:
      secretKeyRef:
        name: {{ .svc.existingSecret }}
        key: {{ .root.Values.secretKeys.databaseUrl }}
{{- if .migrate }}
  - name: D07_MIGRATOR_DATABASE_URL
    valueFrom:
      secretKeyRef:
        name: {{ .svc.existingSecret }}
        key: {{ .root.Values.secretKeys.migratorDatabaseUrl }}
        optional: true
{{- end }}
{{- if .token }}
  - name: D07_SERVICE_TOKEN
    valueFrom:
      secretKeyRef:
        name: {{ .svc.existingSecret }}
        key: {{ .root.Values.secretKeys.serviceToken }}
{{- end }}
{{- $kafka := .root.Values.kafka }}
{{- if and .token (or $kafka.strimzi.enabled (hasPrefix "SASL_" $kafka.securityProtocol)) }}
  - name: D07_KAFKA_SASL_USERNAME
    value: {{ .name | quote }}
  - name: D07_KAFKA_SASL_PASSWORD
    valueFrom:
      secretKeyRef:
        name: {{ .svc.kafkaSecret | default .name }}
        key: password
{{- end }}
{{- range $k, $v := .svc.env }}
  - name: {{ $k }}
    value: {{ $v | toString | quote }}
{{- end }}
{{- end -}}

{{- define "d07.podCommon" -}}
automountServiceAccountToken: false
terminationGracePeriodSeconds: 45
securityContext:
  {{- include "d07.podSecurityContext" . | nindent 2 }}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Scheduling of a service's pods (nodeSelector, tolerations, affinity, topologySpreadConstraints); call
     with the service's values. */}}
{{- define "d07.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "d07.tmpVolumeMount" -}}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- if .Values.kafka.strimzi.enabled }}
  - name: kafka-ca
    mountPath: /etc/d07/kafka-ca
    readOnly: true
{{- end }}
{{- end -}}

{{- define "d07.tmpVolume" -}}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 64Mi
{{- if .Values.kafka.strimzi.enabled }}
  - name: kafka-ca
    secret:
      secretName: {{ printf "%s-cluster-ca-cert" .Values.kafka.strimzi.cluster }}
      items:
        - key: ca.crt
          path: ca.crt
{{- end }}
{{- end -}}


{{/* The migrate initContainer (API and worker pods): applies pending migrations under a PostgreSQL advisory
     lock as the migrator, so no pod runs new code on an old schema. Call with (dict "root" $ "name" NAME
     "svc" SVC "ctx" CTX). */}}
{{- define "d07.migrateInit" -}}
initContainers:
  - name: migrate
    image: {{ include "d07.image" .ctx }}
    imagePullPolicy: {{ .root.Values.global.imagePullPolicy }}
    args: ["migrate"]
    {{- include "d07.env" (dict "root" .root "name" .name "svc" .svc "token" false "migrate" true) | nindent 4 }}
    resources:
      {{- toYaml .root.Values.migrateResources | nindent 6 }}
    securityContext:
      {{- include "d07.containerSecurityContext" .root | nindent 6 }}
    {{- include "d07.tmpVolumeMount" .root | nindent 4 }}
{{- end -}}
