{{/* Names and labels, as `helm create` makes them. */}}
{{- define "shiplane.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "shiplane.fullname" -}}
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

{{- define "shiplane.selectorLabels" -}}
app.kubernetes.io/name: {{ include "shiplane.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "shiplane.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "shiplane.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "shiplane.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "shiplane.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image reference: by digest when one is given, else by tag (default: appVersion). */}}
{{- define "shiplane.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Names of the Secrets the pod reads: an existing one, or the one this chart makes. */}}
{{- define "shiplane.databaseSecret" -}}
{{- default (printf "%s-database" (include "shiplane.fullname" .)) .Values.database.postgresql.existingSecret }}
{{- end }}
{{- define "shiplane.gitSecret" -}}
{{- default (printf "%s-git" (include "shiplane.fullname" .)) .Values.gitops.credentials.existingSecret }}
{{- end }}
{{- define "shiplane.bootstrapSecret" -}}
{{- default (printf "%s-bootstrap" (include "shiplane.fullname" .)) .Values.bootstrapToken.existingSecret }}
{{- end }}
{{- define "shiplane.ssoSecret" -}}
{{- default (printf "%s-sso" (include "shiplane.fullname" .)) .Values.sso.clientSecret.existingSecret }}
{{- end }}
{{- define "shiplane.configMap" -}}
{{- default (include "shiplane.fullname" .) .Values.config.existingConfigMap }}
{{- end }}
{{- define "shiplane.pvc" -}}
{{- default (printf "%s-data" (include "shiplane.fullname" .)) .Values.database.sqlite.persistence.existingClaim }}
{{- end }}

{{/* Whether each optional input is in use. */}}
{{- define "shiplane.hasGitCredentials" -}}
{{- if or .Values.gitops.credentials.existingSecret .Values.gitops.credentials.username .Values.gitops.credentials.password }}true{{ end }}
{{- end }}
{{- define "shiplane.hasBootstrapToken" -}}
{{- if or .Values.bootstrapToken.existingSecret .Values.bootstrapToken.value }}true{{ end }}
{{- end }}
{{- define "shiplane.hasSsoSecret" -}}
{{- if or .Values.sso.clientSecret.existingSecret .Values.sso.clientSecret.value }}true{{ end }}
{{- end }}
{{- define "shiplane.hasConfig" -}}
{{- if or .Values.config.existingConfigMap .Values.config.shiplaneYaml }}true{{ end }}
{{- end }}

{{/* shiplane.yaml as the ConfigMap holds it: a string as it is, a mapping as YAML. */}}
{{- define "shiplane.configText" -}}
{{- if kindIs "string" .Values.config.shiplaneYaml }}
{{- .Values.config.shiplaneYaml }}
{{- else }}
{{- toYaml .Values.config.shiplaneYaml }}
{{- end }}
{{- end }}

{{/* SHIPLANE_PUBLIC_URL: the value, else the Ingress's first host. */}}
{{- define "shiplane.publicUrl" -}}
{{- if .Values.publicUrl }}
{{- .Values.publicUrl }}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts }}
{{- $host := (first .Values.ingress.hosts).host }}
{{- $https := false }}
{{- range .Values.ingress.tls }}
{{- if has $host (default list .hosts) }}{{ $https = true }}{{ end }}
{{- end }}
{{- printf "%s://%s" (ternary "https" "http" $https) $host }}
{{- end }}
{{- end }}

{{/*
Combinations the schema cannot explain well: refused here with a message that says what
to change. Included by the Deployment, so `helm lint`, `template` and `install` all stop.
*/}}
{{- define "shiplane.validate" -}}
{{- $db := .Values.database }}
{{- if and (eq $db.type "sqlite") (gt (int .Values.replicaCount) 1) }}
{{- fail (printf "replicaCount is %d but database.type is sqlite: SQLite allows one server. Set database.type=postgresql with database.postgresql.existingSecret (a Secret holding the connection URL), or replicaCount=1" (int .Values.replicaCount)) }}
{{- end }}
{{- if and (eq $db.type "postgresql") (not $db.postgresql.existingSecret) (not $db.postgresql.url) }}
{{- fail "database.type is postgresql but no connection is given: set database.postgresql.existingSecret to the name of a Secret holding the URL under database.postgresql.secretKey (default 'url'), or database.postgresql.url" }}
{{- end }}
{{- if and $db.postgresql.existingSecret $db.postgresql.url }}
{{- fail "give either database.postgresql.existingSecret or database.postgresql.url, not both" }}
{{- end }}
{{- if and (eq $db.type "sqlite") (or $db.postgresql.existingSecret $db.postgresql.url) }}
{{- fail "database.postgresql is set but database.type is sqlite: set database.type=postgresql to use it" }}
{{- end }}
{{- $git := .Values.gitops.credentials }}
{{- if and $git.existingSecret (or $git.username $git.password) }}
{{- fail "give either gitops.credentials.existingSecret or gitops.credentials.username/password, not both" }}
{{- end }}
{{- if and (not $git.existingSecret) (or $git.username $git.password) (not (and $git.username $git.password)) }}
{{- fail "gitops.credentials needs both username and password (a token as the password)" }}
{{- end }}
{{- if and .Values.gitops.ssh.existingSecret (include "shiplane.hasGitCredentials" .) }}
{{- fail "give gitops.credentials (HTTPS) or gitops.ssh (SSH), not both" }}
{{- end }}
{{- if and (or (include "shiplane.hasGitCredentials" .) .Values.gitops.ssh.existingSecret) (not .Values.gitops.repo) }}
{{- fail "GitOps credentials are set but gitops.repo is empty: name the GitOps repository" }}
{{- end }}
{{- if and .Values.bootstrapToken.value (lt (len .Values.bootstrapToken.value) 24) }}
{{- fail "bootstrapToken.value must be at least 24 characters (e.g. openssl rand -hex 24)" }}
{{- end }}
{{- if and .Values.bootstrapToken.existingSecret .Values.bootstrapToken.value }}
{{- fail "give either bootstrapToken.existingSecret or bootstrapToken.value, not both" }}
{{- end }}
{{- if and .Values.sso.clientSecret.existingSecret .Values.sso.clientSecret.value }}
{{- fail "give either sso.clientSecret.existingSecret or sso.clientSecret.value, not both" }}
{{- end }}
{{- if and .Values.config.existingConfigMap .Values.config.shiplaneYaml }}
{{- fail "give either config.existingConfigMap or config.shiplaneYaml, not both" }}
{{- end }}
{{- if and .Values.rbac.create (not .Values.serviceAccount.create) (not .Values.serviceAccount.name) }}
{{- fail "rbac.create binds roles to the ServiceAccount: with serviceAccount.create=false, name it in serviceAccount.name" }}
{{- end }}
{{- $pdb := .Values.podDisruptionBudget }}
{{- if and $pdb.enabled (not (kindIs "string" $pdb.minAvailable)) (ge (int $pdb.minAvailable) (int .Values.replicaCount)) }}
{{- fail (printf "podDisruptionBudget.minAvailable %d with replicaCount %d would block every node drain: keep it below replicaCount" (int $pdb.minAvailable) (int .Values.replicaCount)) }}
{{- end }}
{{- $seen := dict }}
{{- range .Values.clusters.kubeconfigSecrets }}
{{- if hasKey $seen .name }}
{{- fail (printf "clusters.kubeconfigSecrets names the cluster %q twice" .name) }}
{{- end }}
{{- $_ := set $seen .name true }}
{{- end }}
{{- end }}
