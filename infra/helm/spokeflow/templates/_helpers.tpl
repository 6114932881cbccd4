{{- define "spokeflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "spokeflow.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "spokeflow.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "spokeflow.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "spokeflow.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ include "spokeflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector of one domain's pods; (dict "root" $ "domain" "ingestion") */}}
{{- define "spokeflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "spokeflow.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .domain }}-worker
{{- end -}}

{{/* The task queue of a domain: the naming of common/task-queues.ts (a test compares them). */}}
{{- define "spokeflow.taskQueue" -}}
spokeflow-{{ . }}
{{- end -}}

{{- define "spokeflow.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "spokeflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{ default (include "spokeflow.fullname" .) .Values.serviceAccount.name }}
{{- else -}}
{{ default "default" .Values.serviceAccount.name }}
{{- end -}}
{{- end -}}

{{/* Plain settings (ConfigMap data, and the migration Job's env): names of runtime/config.ts. */}}
{{- define "spokeflow.settings" -}}
{{- $v := .Values -}}
TEMPORAL_ADDRESS: {{ $v.temporal.address | quote }}
TEMPORAL_NAMESPACE: {{ $v.temporal.namespace | quote }}
{{- with $v.temporal.uiUrl }}
TEMPORAL_UI_URL: {{ . | quote }}
{{- end }}
{{- if or $v.temporal.tls.enabled $v.temporal.apiKey.secretName }}
TEMPORAL_TLS: "true"
{{- end }}
{{- with $v.temporal.tls.serverName }}
TEMPORAL_TLS_SERVER_NAME: {{ . | quote }}
{{- end }}
MYSQL_HOST: {{ $v.mysql.host | quote }}
MYSQL_PORT: {{ $v.mysql.port | quote }}
MYSQL_USER: {{ $v.mysql.user | quote }}
MYSQL_DATABASE: {{ $v.mysql.database | quote }}
MYSQL_SILVER_DATABASE: {{ $v.mysql.silverDatabase | quote }}
PGHOST: {{ $v.postgres.host | quote }}
PGPORT: {{ $v.postgres.port | quote }}
PGUSER: {{ $v.postgres.user | quote }}
PGDATABASE: {{ $v.postgres.database | quote }}
MINIO_ENDPOINT: {{ $v.minio.endpoint | quote }}
MINIO_PORT: {{ $v.minio.port | quote }}
MINIO_USE_SSL: {{ $v.minio.useSSL | toString | quote }}
MINIO_BRONZE_BUCKET: {{ $v.minio.bronzeBucket | quote }}
SPOKEFLOW_DIGEST_BUCKET: {{ $v.minio.digestBucket | quote }}
INFLUX_URL: {{ $v.influx.url | quote }}
INFLUX_ORG: {{ $v.influx.org | quote }}
INFLUX_BUCKET: {{ $v.influx.bucket | quote }}
INFLUX_FLAVOR: {{ $v.influx.flavor | quote }}
SPOKEFLOW_SHUTDOWN_GRACE: {{ printf "%ds" (int $v.drainGraceSeconds) | quote }}
SPOKEFLOW_HEALTH_BIND: {{ printf "0.0.0.0:%d" (int $v.healthPort) | quote }}
{{- if $v.observability.prometheus.enabled }}
SPOKEFLOW_PROMETHEUS_BIND: {{ printf "0.0.0.0:%d" (int $v.observability.prometheus.port) | quote }}
{{- end }}
{{- with $v.observability.otlpEndpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ . | quote }}
{{- end }}
SPOKEFLOW_EMBEDDING_PROVIDER: {{ $v.embeddings.provider | quote }}
{{- with $v.embeddings.url }}
SPOKEFLOW_EMBEDDING_URL: {{ . | quote }}
{{- end }}
SPOKEFLOW_EMBEDDING_MODEL: {{ $v.embeddings.model | quote }}
SPOKEFLOW_DIGEST_FROM: {{ $v.notifications.from | quote }}
SPOKEFLOW_DIGEST_TEAM_EMAIL: {{ $v.notifications.teamEmail | quote }}
{{- with $v.codec.keyId }}
SPOKEFLOW_CODEC_KEY_ID: {{ . | quote }}
{{- end }}
{{- range $name, $value := $v.extraEnv }}
{{ $name }}: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/*
Secrets as files: each entry is a key of a Secret, mounted under /etc/spokeflow/secrets and named
to the worker by `<env>_FILE` (runtime/config.ts reads any setting from such a file).
*/}}
{{- define "spokeflow.secretFiles" -}}
{{- $v := .Values -}}
{{- $all := list
  (dict "env" "MYSQL_PASSWORD" "ref" $v.mysql.passwordSecret)
  (dict "env" "PGPASSWORD" "ref" $v.postgres.passwordSecret)
  (dict "env" "MINIO_ACCESS_KEY" "ref" $v.minio.accessKeySecret)
  (dict "env" "MINIO_SECRET_KEY" "ref" $v.minio.secretKeySecret)
  (dict "env" "INFLUX_TOKEN" "ref" $v.influx.tokenSecret)
  (dict "env" "TEMPORAL_API_KEY" "ref" (dict "name" $v.temporal.apiKey.secretName "key" $v.temporal.apiKey.key))
  (dict "env" "SPOKEFLOW_CODEC_KEYS" "ref" $v.codec.keysSecret)
  (dict "env" "SPOKEFLOW_EMBEDDING_API_KEY" "ref" $v.embeddings.apiKeySecret)
  (dict "env" "SPOKEFLOW_SMTP_URL" "ref" $v.notifications.smtpUrlSecret)
  (dict "env" "SPOKEFLOW_DIGEST_WEBHOOK_URL" "ref" $v.notifications.webhookUrlSecret) -}}
{{- range $v.sources -}}
{{- $all = append $all (dict "env" (printf "SPOKEFLOW_SOURCE_%s_URL" (.name | upper | replace "-" "_")) "ref" .secret) -}}
{{- end -}}
{{- $files := list -}}
{{- range $all -}}
{{- if and .ref .ref.name -}}
{{- $files = append $files (dict "env" .env "secret" .ref.name "key" .ref.key "path" (.env | lower | replace "_" "-")) -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "files" $files) -}}
{{- end -}}

{{/* env entries of the secret files and the Temporal TLS files */}}
{{- define "spokeflow.fileEnv" -}}
{{- range (fromYaml (include "spokeflow.secretFiles" .)).files }}
- name: {{ .env }}_FILE
  value: /etc/spokeflow/secrets/{{ .path }}
{{- end }}
{{- $tls := .Values.temporal.tls }}
{{- if and $tls.enabled $tls.secretName }}
{{- if $tls.caKey }}
- name: TEMPORAL_TLS_SERVER_CA_CERT_PATH
  value: /etc/spokeflow/temporal-tls/ca.crt
{{- end }}
{{- if and $tls.certKey $tls.keyKey }}
- name: TEMPORAL_TLS_CLIENT_CERT_PATH
  value: /etc/spokeflow/temporal-tls/tls.crt
- name: TEMPORAL_TLS_CLIENT_KEY_PATH
  value: /etc/spokeflow/temporal-tls/tls.key
{{- end }}
{{- end }}
{{- with .Values.observability.otlpHeadersSecret }}
{{- if .name }}
# The OTLP exporter reads its headers from this variable only (no _FILE form).
- name: OTEL_EXPORTER_OTLP_HEADERS
  valueFrom:
    secretKeyRef: { name: {{ .name | quote }}, key: {{ .key | quote }} }
{{- end }}
{{- end }}
{{- end -}}

{{- define "spokeflow.volumes" -}}
- name: tmp
  emptyDir: {}
{{- $files := (fromYaml (include "spokeflow.secretFiles" .)).files }}
{{- if $files }}
- name: secrets
  projected:
    defaultMode: 288 # 0440: the pod's group (fsGroup) reads, no one writes
    sources:
    {{- range $files }}
      - secret:
          name: {{ .secret }}
          items:
            - key: {{ .key }}
              path: {{ .path }}
    {{- end }}
{{- end }}
{{- $tls := .Values.temporal.tls }}
{{- if and $tls.enabled $tls.secretName }}
- name: temporal-tls
  secret:
    secretName: {{ $tls.secretName }}
    defaultMode: 288
    items:
    {{- if $tls.caKey }}
      - { key: {{ $tls.caKey }}, path: ca.crt }
    {{- end }}
    {{- if and $tls.certKey $tls.keyKey }}
      - { key: {{ $tls.certKey }}, path: tls.crt }
      - { key: {{ $tls.keyKey }}, path: tls.key }
    {{- end }}
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "spokeflow.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if (fromYaml (include "spokeflow.secretFiles" .)).files }}
- name: secrets
  mountPath: /etc/spokeflow/secrets
  readOnly: true
{{- end }}
{{- if and .Values.temporal.tls.enabled .Values.temporal.tls.secretName }}
- name: temporal-tls
  mountPath: /etc/spokeflow/temporal-tls
  readOnly: true
{{- end }}
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end -}}
