{{/* The picker's name: <release>-epp (the release name is cut to 40 characters, as upstream). */}}
{{- define "epp.name" -}}
{{- printf "%s-epp" (.Release.Name | default "default-pool" | lower | trim | trunc 40 | trimSuffix "-") -}}
{{- end -}}

{{- define "epp.labels" -}}
app.kubernetes.io/name: {{ include "epp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: endpoint-picker
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "epp.selectorLabels" -}}
inferencepool: {{ include "epp.name" . }}
{{- end -}}

{{- define "epp.image" -}}
{{- $img := .Values.inferenceExtension.image -}}
{{- $tag := $img.tag | default .Chart.AppVersion -}}
{{- if $img.registry -}}
{{- printf "%s/%s:%s" $img.registry $img.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" $img.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* Leader election follows the replica count, as in the upstream chart. */}}
{{- define "epp.leaderElection" -}}
{{- if gt (int .Values.inferenceExtension.replicas) 1 -}}true{{- end -}}
{{- end -}}

{{- define "epp.validate" -}}
{{- $pool := .Values.inferencePool -}}
{{- if or (empty $pool.modelServers) (empty $pool.modelServers.matchLabels) -}}
{{- fail "inferencePool.modelServers.matchLabels is required" -}}
{{- end -}}
{{- if or (empty $pool.targetPorts) (gt (len $pool.targetPorts) 8) -}}
{{- fail "inferencePool.targetPorts needs 1 to 8 ports" -}}
{{- end -}}
{{- if not (has $pool.modelServerProtocol (list "http" "grpc")) -}}
{{- fail "inferencePool.modelServerProtocol must be http or grpc" -}}
{{- end -}}
{{- if not (has .Values.inferenceExtension.failureMode (list "FailOpen" "FailClose")) -}}
{{- fail "inferenceExtension.failureMode must be FailOpen or FailClose" -}}
{{- end -}}
{{- $file := .Values.inferenceExtension.pluginsConfigFile -}}
{{- if and (ne $file "default-plugins.yaml") (not (hasKey (.Values.inferenceExtension.pluginsCustomConfig | default dict) $file)) -}}
{{- fail (printf "inferenceExtension.pluginsConfigFile %q is neither default-plugins.yaml nor a key of pluginsCustomConfig" $file) -}}
{{- end -}}
{{- end -}}
