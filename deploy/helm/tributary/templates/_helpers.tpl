{{/* Names, labels and the pieces every Deployment shares. */}}

{{- define "tributary.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's base name; component names append "-publisher" etc. (≤ 63 chars in all). */}}
{{- define "tributary.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "tributary.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Call with (dict "root" $ "component" "publisher"). */}}
{{- define "tributary.componentName" -}}
{{- printf "%s-%s" (include "tributary.fullname" .root) .component -}}
{{- end -}}

{{- define "tributary.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tributary.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "tributary.labels" -}}
helm.sh/chart: {{ include "tributary.chart" .root }}
{{ include "tributary.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: tributary
{{- end -}}

{{- define "tributary.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "tributary.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tributary.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding DATABASE_URL and the other sensitive settings. */}}
{{- define "tributary.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else -}}
{{- printf "%s-secrets" (include "tributary.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/* True when the secret holds an LLM key: always assumed for an existing secret (optional ref). */}}
{{- define "tributary.hasLlmKey" -}}
{{- if or .Values.secrets.existingSecret .Values.secrets.llmApiKey -}}true{{- end -}}
{{- end -}}

{{- define "tributary.llmBaseUrl" -}}
{{- if .Values.llm.baseUrl -}}
{{- .Values.llm.baseUrl -}}
{{- else if .Values.mockLlm.enabled -}}
{{- printf "http://%s:%d/v1" (include "tributary.componentName" (dict "root" . "component" "mock-llm")) (int .Values.mockLlm.port) -}}
{{- end -}}
{{- end -}}

{{- define "tributary.secretEnv" -}}
{{- $root := . -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "tributary.secretName" .root }}
      key: {{ .key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end -}}

{{/* Environment every Tributary service gets: endpoints by value, credentials by secretKeyRef. */}}
{{- define "tributary.commonEnv" -}}
{{- $v := .Values -}}
- name: KAFKA_BOOTSTRAP_SERVERS
  value: {{ required "kafka.bootstrapServers is required (host:port,host:port of the Kafka cluster)" $v.kafka.bootstrapServers | quote }}
- name: KAFKA_TOPIC_PREFIX
  value: {{ $v.kafka.topicPrefix | quote }}
- name: KAFKA_CREATE_TOPICS
  value: {{ $v.kafka.createTopics | quote }}
- name: KAFKA_TOPIC_PARTITIONS
  value: {{ $v.kafka.topicPartitions | quote }}
- name: KAFKA_REPLICATION_FACTOR
  value: {{ $v.kafka.replicationFactor | quote }}
{{- if $v.kafka.propertiesFromSecret }}
{{ include "tributary.secretEnv" (dict "root" . "name" "KAFKA_PROPERTIES" "key" $v.secrets.keys.kafkaProperties) }}
{{- end }}
{{ include "tributary.secretEnv" (dict "root" . "name" "DATABASE_URL" "key" $v.secrets.keys.databaseUrl) }}
{{- if $v.redis.urlFromSecret }}
{{ include "tributary.secretEnv" (dict "root" . "name" "REDIS_URL" "key" $v.secrets.keys.redisUrl) }}
{{- else }}
- name: REDIS_URL
  value: {{ required "redis.url is required (redis://host:port/db)" $v.redis.url | quote }}
{{- end }}
- name: LOG_LEVEL
  value: {{ $v.log.level | quote }}
- name: LOG_FORMAT
  value: {{ $v.log.format | quote }}
{{- if $v.anonymousTenant }}
- name: TRIBUTARY_ANONYMOUS_TENANT
  value: {{ $v.anonymousTenant | quote }}
{{- end }}
{{- end -}}

{{/* A component's own env map and raw extraEnv list. Call with the component's values. */}}
{{- define "tributary.extraEnv" -}}
{{- range $name, $value := .env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- with .extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pod-level settings shared by every component. Call with (dict "root" $ "c" $component). */}}
{{- define "tributary.podSpecCommon" -}}
serviceAccountName: {{ include "tributary.serviceAccountName" .root }}
automountServiceAccountToken: {{ .root.Values.serviceAccount.automountToken }}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .root.Values.podSecurityContext | nindent 2 }}
{{- with .c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .c.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  # The root filesystem is read-only; anything that needs scratch space gets /tmp.
  - name: tmp
    emptyDir:
      sizeLimit: 64Mi
{{- end -}}

{{/* Container-level settings: image, security, probes on the named port, /tmp, preStop. */}}
{{- define "tributary.containerCommon" -}}
image: {{ include "tributary.image" .root }}
imagePullPolicy: {{ .root.Values.image.pullPolicy }}
securityContext:
  {{- toYaml .root.Values.containerSecurityContext | nindent 2 }}
livenessProbe:
  httpGet:
    path: /healthz
    port: http
  {{- toYaml .root.Values.probes.liveness | nindent 2 }}
readinessProbe:
  httpGet:
    path: /readyz
    port: http
  {{- toYaml .root.Values.probes.readiness | nindent 2 }}
{{- if .root.Values.preStopSleepSeconds }}
lifecycle:
  preStop:
    exec:
      command: ["sleep", {{ .root.Values.preStopSleepSeconds | toString | quote }}]
{{- end }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
resources:
  {{- toYaml .c.resources | nindent 2 }}
{{- end -}}

{{- define "tributary.podAnnotations" -}}
{{- $root := . -}}
{{- if not .Values.secrets.existingSecret }}
# Restart the pods when the chart-managed secret changes.
checksum/secrets: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- with .Values.podAnnotations }}
{{ toYaml . }}
{{- end }}
{{- end -}}
