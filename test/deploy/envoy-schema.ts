/**
 * Strict validation of Envoy YAML/JSON configuration against Envoy's protobuf message schema, since no
 * Envoy binary runs here. The schema is Envoy's v3 API as bundled with @grpc/grpc-js-xds, loaded with
 * protobufjs; the ext_proc filter's messages come from newer definitions (test/deploy/proto and the
 * project's proto/ ProcessingMode) because the bundled copy predates FULL_DUPLEX_STREAMED.
 *
 * The check follows the proto3 JSON mapping Envoy uses for YAML: every key must be a field (proto or
 * JSON name), values must have the field's type, enums must name a value, `google.protobuf.Any` is
 * resolved through `@type`, well-known types take their JSON forms, at most one member of a oneof may be
 * set, and deprecated fields are refused. Of Envoy's protoc-gen-validate rules, `message.required`,
 * required oneofs, `string.min_len`, `repeated.min_items` and `enum.defined_only` (every enum) are
 * applied; the others (numeric and duration ranges, patterns) are not.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const XDS_DEPS = join(dirname(createRequire(import.meta.url).resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const PROTOBUFJS = dirname(createRequire(import.meta.url).resolve('protobufjs/package.json'));
// google/protobuf/descriptor.proto (imported by the annotation protos) ships with protobufjs.
const INCLUDE_DIRS = [...['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(XDS_DEPS, d)), PROTOBUFJS];

/** Newer definitions loaded instead of the bundled ones. */
const OVERLAY: Record<string, string> = {
  'envoy/extensions/filters/http/ext_proc/v3/ext_proc.proto': join(ROOT, 'test/deploy/proto/envoy/extensions/filters/http/ext_proc/v3/ext_proc.proto'),
  'envoy/extensions/filters/http/ext_proc/v3/processing_mode.proto': join(ROOT, 'proto/envoy/extensions/filters/http/ext_proc/v3/processing_mode.proto'),
};

/** The extensions our configs name in `@type`: a type not loaded here is reported as unknown. */
const ENTRY_FILES = [
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/ext_proc/v3/ext_proc.proto',
  'envoy/extensions/filters/http/health_check/v3/health_check.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
];

let cached: protobuf.Root | undefined;

/** Envoy's schema, loaded once per test file (about 0.5 s). */
export function envoySchema(): protobuf.Root {
  if (cached !== undefined) return cached;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    const overlay = OVERLAY[target];
    if (overlay !== undefined) return overlay;
    for (const dir of INCLUDE_DIRS) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  root.loadSync(ENTRY_FILES, { keepCase: true, alternateCommentMode: false });
  root.resolveAll();
  cached = root;
  return root;
}

const TYPE_URL_PREFIX = 'type.googleapis.com/';
const DURATION = /^-?\d+(\.\d{1,9})?s$/;
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
const WRAPPERS: Record<string, string> = {
  '.google.protobuf.DoubleValue': 'double',
  '.google.protobuf.FloatValue': 'float',
  '.google.protobuf.Int64Value': 'int64',
  '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.Int32Value': 'int32',
  '.google.protobuf.UInt32Value': 'uint32',
  '.google.protobuf.BoolValue': 'bool',
  '.google.protobuf.StringValue': 'string',
  '.google.protobuf.BytesValue': 'bytes',
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const camel = (name: string): string => name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

function checkScalar(type: string, value: unknown, path: string, problems: string[]): void {
  const bad = (): void => void problems.push(`${path}: expected ${type}, got ${JSON.stringify(value)}`);
  switch (type) {
    case 'string':
      if (typeof value !== 'string') bad();
      return;
    case 'bool':
      if (typeof value !== 'boolean') bad();
      return;
    case 'bytes':
      if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) bad();
      return;
    case 'double':
    case 'float':
      if (typeof value !== 'number' && !(typeof value === 'string' && /^(-?\d+(\.\d+)?(e[+-]?\d+)?|NaN|-?Infinity)$/i.test(value))) bad();
      return;
    default: {
      // Integers: a JSON number or a decimal string; unsigned types refuse negatives.
      const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : '';
      if (!/^-?\d+$/.test(text)) return bad();
      if (type.startsWith('u') || type.startsWith('fixed')) {
        if (text.startsWith('-')) bad();
      }
      const n = Number(text);
      if ((type === 'int32' || type === 'sint32' || type === 'sfixed32') && (n < -2147483648 || n > 2147483647)) bad();
      if ((type === 'uint32' || type === 'fixed32') && n > 4294967295) bad();
    }
  }
}

function checkEnum(en: protobuf.Enum, value: unknown, path: string, problems: string[]): void {
  if (typeof value === 'string') {
    if (!(value in en.values)) problems.push(`${path}: "${value}" is not a value of enum ${en.fullName.slice(1)} (${Object.keys(en.values).join(', ')})`);
  } else if (typeof value === 'number' && Number.isInteger(value)) {
    if (!Object.values(en.values).includes(value)) problems.push(`${path}: ${value} is not a value of enum ${en.fullName.slice(1)}`);
  } else {
    problems.push(`${path}: expected an enum ${en.fullName.slice(1)} name, got ${JSON.stringify(value)}`);
  }
}

/** A protoc-gen-validate option, however protobufjs stored it. */
function pgvFlag(options: Record<string, unknown> | undefined, key: string): boolean {
  if (options === undefined) return false;
  if (options[key] === true) return true;
  return false;
}

function checkValue(root: protobuf.Root, field: protobuf.Field, value: unknown, path: string, problems: string[]): void {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) checkMessage(root, resolved, value, path, problems);
  else if (resolved instanceof protobuf.Enum) checkEnum(resolved, value, path, problems);
  else checkScalar(field.type, value, path, problems);
}

/** Validates `value` as the JSON form of message type `type`, appending problems with their paths. */
export function checkMessage(root: protobuf.Root, type: protobuf.Type, value: unknown, path: string, problems: string[]): void {
  const name = type.fullName;
  // Well-known types with special JSON forms.
  if (name === '.google.protobuf.Duration') {
    if (typeof value !== 'string' || !DURATION.test(value)) problems.push(`${path}: expected a duration like "5s", got ${JSON.stringify(value)}`);
    return;
  }
  if (name === '.google.protobuf.Timestamp') {
    if (typeof value !== 'string' || !TIMESTAMP.test(value)) problems.push(`${path}: expected an RFC 3339 timestamp, got ${JSON.stringify(value)}`);
    return;
  }
  const wrapped = WRAPPERS[name];
  if (wrapped !== undefined) return checkScalar(wrapped, value, path, problems);
  if (name === '.google.protobuf.Struct') {
    if (!isObject(value)) problems.push(`${path}: expected an object (Struct), got ${JSON.stringify(value)}`);
    return;
  }
  if (name === '.google.protobuf.Value') return;
  if (name === '.google.protobuf.ListValue') {
    if (!Array.isArray(value)) problems.push(`${path}: expected a list, got ${JSON.stringify(value)}`);
    return;
  }
  if (!isObject(value)) {
    // YAML writes an empty message as a bare key (null); Envoy accepts it.
    if (value === null) return;
    problems.push(`${path}: expected an object (${name.slice(1)}), got ${JSON.stringify(value)}`);
    return;
  }
  if (name === '.google.protobuf.Any') {
    const url = value['@type'];
    if (typeof url !== 'string' || !url.startsWith(TYPE_URL_PREFIX)) {
      problems.push(`${path}: Any needs "@type": "${TYPE_URL_PREFIX}<message>"`);
      return;
    }
    const target = root.lookup(url.slice(TYPE_URL_PREFIX.length));
    if (!(target instanceof protobuf.Type)) {
      problems.push(`${path}["@type"]: unknown message type ${url.slice(TYPE_URL_PREFIX.length)}`);
      return;
    }
    const { '@type': _ignored, ...rest } = value;
    checkMessage(root, target, rest, path, problems);
    return;
  }

  const byJsonName = new Map<string, protobuf.Field>();
  for (const f of type.fieldsArray) byJsonName.set(camel(f.name), f);
  const oneofSeen = new Map<string, string>();
  for (const [key, v] of Object.entries(value)) {
    const field = type.fields[key] ?? byJsonName.get(key);
    const at = `${path}.${key}`;
    if (field === undefined) {
      problems.push(`${at}: unknown field of ${name.slice(1)}`);
      continue;
    }
    if (field.options?.deprecated === true) problems.push(`${at}: deprecated field of ${name.slice(1)}`);
    if (field.partOf !== null && v !== null && v !== undefined) {
      const other = oneofSeen.get(field.partOf.name);
      if (other !== undefined) problems.push(`${at}: oneof ${field.partOf.name} already set by ${other}`);
      oneofSeen.set(field.partOf.name, key);
    }
    if (v === null) continue; // an explicit null is the default value
    if (field instanceof protobuf.MapField) {
      if (!isObject(v)) {
        problems.push(`${at}: expected a map, got ${JSON.stringify(v)}`);
        continue;
      }
      for (const [k, item] of Object.entries(v)) checkValue(root, field, item, `${at}[${JSON.stringify(k)}]`, problems);
    } else if (field.repeated) {
      if (!Array.isArray(v)) {
        problems.push(`${at}: expected a list, got ${JSON.stringify(v)}`);
        continue;
      }
      v.forEach((item: unknown, i) => checkValue(root, field, item, `${at}[${i}]`, problems));
    } else {
      checkValue(root, field, v, at, problems);
    }
  }
  // protoc-gen-validate: required message fields (outside oneofs, whose rules apply only to the member
  // that is set), required oneofs, minimum string lengths and list sizes.
  for (const f of type.fieldsArray) {
    const v = value[f.name] ?? value[camel(f.name)];
    if (v === undefined && f.partOf === null && pgvFlag(f.options, '(validate.rules).message.required')) {
      problems.push(`${path}.${f.name}: required field of ${name.slice(1)} is missing`);
    }
    const minLen: unknown = f.options?.['(validate.rules).string.min_len'];
    if (typeof minLen === 'number' && (v !== undefined || f.partOf === null) && (typeof v === 'string' || v === undefined) && (v ?? '').length < minLen) {
      problems.push(`${path}.${f.name}: must be at least ${minLen} character(s) in ${name.slice(1)}`);
    }
    const minItems: unknown = f.options?.['(validate.rules).repeated.min_items'];
    if (typeof minItems === 'number' && (v === undefined || Array.isArray(v)) && (v === undefined ? 0 : v.length) < minItems) {
      problems.push(`${path}.${f.name}: needs at least ${minItems} item(s) in ${name.slice(1)}`);
    }
  }
  for (const o of type.oneofsArray) {
    if (pgvFlag(o.options, '(validate.required)') && !oneofSeen.has(o.name)) {
      problems.push(`${path}: one of ${o.oneof.join(', ')} is required in ${name.slice(1)}`);
    }
  }
}

/** Validates a whole Envoy bootstrap document; returns the problems (empty = valid). */
export function validateBootstrap(doc: unknown): string[] {
  const root = envoySchema();
  const problems: string[] = [];
  checkMessage(root, root.lookupType('envoy.config.bootstrap.v3.Bootstrap'), doc, '$', problems);
  return problems;
}

/** Validates `doc` as the named message (e.g. an HTTP filter embedded in a Kubernetes resource). */
export function validateMessage(typeName: string, doc: unknown): string[] {
  const root = envoySchema();
  const problems: string[] = [];
  checkMessage(root, root.lookupType(typeName), doc, '$', problems);
  return problems;
}
