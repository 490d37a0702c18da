/**
 * The configuration used when neither `--config-file` nor `--config-text` is given. The reference's
 * default profile is queue 2 / kv-cache-utilization 2 / prefix-cache 3 with a max-score picker; the
 * prefix plugins join this list when they are built.
 */
export const DEFAULT_CONFIG_TEXT = `apiVersion: llm-d.ai/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
- type: max-score-picker
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
    weight: 2
  - pluginRef: kv-cache-utilization-scorer
    weight: 2
  - pluginRef: max-score-picker
`;
