/**
 * The configuration used when neither `--config-file` nor `--config-text` is given: the reference's
 * default profile, queue 2 / kv-cache-utilization 2 / prefix-cache 3 with a max-score picker (the
 * approx-prefix-cache-producer the prefix scorer consumes is injected with default parameters).
 */
export const DEFAULT_CONFIG_TEXT = `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: prefix-cache-scorer
- type: max-score-picker
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
    weight: 2
  - pluginRef: kv-cache-utilization-scorer
    weight: 2
  - pluginRef: prefix-cache-scorer
    weight: 3
  - pluginRef: max-score-picker
`;
