import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError, decode } from './decode.js';
import { DEFAULT_CONFIG_TEXT } from './default-config.js';
import { endpointPickerConfigSchema, type EndpointPickerConfig } from './endpoint-picker-config.js';

/** Where the configuration comes from: `--config-file`, `--config-text`, or the built-in default. */
export type ConfigSource = { readonly file: string } | { readonly text: string } | 'default';

/** A configuration document as parsed from YAML, before decoding, with the name its errors are reported under. */
export interface ConfigDocument {
  readonly name: string;
  readonly raw: unknown;
}

/** Reads, parses and strictly decodes an EndpointPickerConfig. Throws ConfigError listing every problem. */
export function loadConfig(source: ConfigSource): EndpointPickerConfig {
  const document = readConfigDocument(source);
  return decode(endpointPickerConfigSchema, document.raw, document.name);
}

/** Reads and parses the YAML of an EndpointPickerConfig without decoding it. Throws ConfigError. */
export function readConfigDocument(source: ConfigSource): ConfigDocument {
  let text: string;
  let name: string;
  if (source === 'default') {
    text = DEFAULT_CONFIG_TEXT;
    name = 'built-in default config';
  } else if ('file' in source) {
    name = `config file ${source.file}`;
    try {
      text = readFileSync(source.file, 'utf8');
    } catch (err) {
      throw new ConfigError(name, [err instanceof Error ? err.message : String(err)]);
    }
  } else {
    text = source.text;
    name = '--config-text';
  }
  let raw: unknown;
  try {
    // YAML 1.1, as the reference's decoder (sigs.k8s.io/yaml over go-yaml v2) reads it: `yes`/`on` are booleans.
    raw = parseYaml(text, { version: '1.1' });
  } catch (err) {
    throw new ConfigError(name, [`not valid YAML: ${err instanceof Error ? err.message : String(err)}`]);
  }
  return { name, raw };
}
