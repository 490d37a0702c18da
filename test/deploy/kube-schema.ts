/**
 * Schema validation of Kubernetes manifests, since no API server runs here.
 *
 * Built-in kinds are checked twice: `kubernetes-models` (validators generated from the Kubernetes
 * OpenAPI document: types, required fields, enums, int-or-string) and a walk over
 * `@kubernetes/client-node`'s model metadata that refuses unknown field names, as
 * `kubectl apply --validate=strict` does. Custom resources are checked with ajv against the CRDs'
 * openAPIV3Schema vendored in test/fixtures/crds/ (with `additionalProperties: false` added wherever the
 * schema does not preserve unknown fields, again as strict field validation does). CEL rules
 * (`x-kubernetes-validations`) and string formats are not evaluated.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
// Only the generated models (the package's index also loads its HTTP client stack, ~0.5 s more).
import * as k8s from '@kubernetes/client-node/dist/gen/models/all.js';
import { expect } from 'vitest';
import { Ajv, type ValidateFunction } from 'ajv';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { Lease } from 'kubernetes-models/coordination.k8s.io/v1';
import { PodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';

const CRD_DIR = new URL('../fixtures/crds/', import.meta.url).pathname;

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: never) => Validatable;

/** Built-in kinds: the kubernetes-models class and the client-node model name. */
const BUILTIN: Record<string, { model: ModelClass; clientModel: string }> = {
  'v1/ConfigMap': { model: ConfigMap, clientModel: 'V1ConfigMap' },
  'v1/Secret': { model: Secret, clientModel: 'V1Secret' },
  'v1/Service': { model: Service, clientModel: 'V1Service' },
  'v1/ServiceAccount': { model: ServiceAccount, clientModel: 'V1ServiceAccount' },
  'apps/v1/Deployment': { model: Deployment, clientModel: 'V1Deployment' },
  'apps/v1/StatefulSet': { model: StatefulSet, clientModel: 'V1StatefulSet' },
  'rbac.authorization.k8s.io/v1/Role': { model: Role, clientModel: 'V1Role' },
  'rbac.authorization.k8s.io/v1/RoleBinding': { model: RoleBinding, clientModel: 'V1RoleBinding' },
  'coordination.k8s.io/v1/Lease': { model: Lease, clientModel: 'V1Lease' },
};

interface AttributeType {
  readonly baseName: string;
  readonly type: string;
}
type ClientModel = { getAttributeTypeMap(): AttributeType[] };
const CLIENT_MODELS = k8s as unknown as Record<string, ClientModel | undefined>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Refuses field names the Kubernetes API does not define (scalar types are kubernetes-models' job). */
function checkFieldNames(value: unknown, type: string, path: string, problems: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array !== null) {
    if (!Array.isArray(value)) return void problems.push(`${path}: expected a list`);
    value.forEach((item: unknown, i) => checkFieldNames(item, array[1] ?? '', `${path}[${i}]`, problems));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map !== null) {
    if (!isObject(value)) return void problems.push(`${path}: expected a map`);
    for (const [k, v] of Object.entries(value)) checkFieldNames(v, map[1] ?? '', `${path}.${k}`, problems);
    return;
  }
  const model = CLIENT_MODELS[type];
  if (model === undefined || typeof model.getAttributeTypeMap !== 'function') return; // a scalar, IntOrString, any
  if (!isObject(value)) return void problems.push(`${path}: expected an object (${type})`);
  const fields = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value)) {
    const fieldType = fields.get(k);
    if (fieldType === undefined) problems.push(`${path}.${k}: unknown field of ${type}`);
    else checkFieldNames(v, fieldType, `${path}.${k}`, problems);
  }
}

function modelProblems(model: ModelClass, doc: unknown, path: string): string[] {
  try {
    new model(structuredClone(doc) as never).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: { instancePath?: string; message?: string }[] }).errors;
    if (Array.isArray(errors)) return errors.map((e) => `${path}${(e.instancePath ?? '').replaceAll('/', '.')}: ${e.message ?? 'invalid'}`);
    return [`${path}: ${err instanceof Error ? err.message : String(err)}`];
  }
}

/** Validates a value as a core/v1 PodTemplateSpec (used inside custom resources). */
function podTemplateProblems(value: unknown, path: string): string[] {
  const problems = modelProblems(PodTemplateSpec, value, path);
  checkFieldNames(value, 'V1PodTemplateSpec', path, problems);
  return problems;
}

// ---- custom resources ---------------------------------------------------------------------------

type Schema = Record<string, unknown>;
interface CrdFile {
  readonly source: string;
  readonly group: string;
  readonly kind: string;
  readonly versions: Record<string, Schema>;
}

/** CRD structural schema → JSON Schema with strict field checking. */
function strictSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strictSchema);
  if (!isObject(schema)) return schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'properties' && isObject(v)) out[k] = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, strictSchema(s)]));
    else if (k.startsWith('x-kubernetes-') || k === 'x-epp-validate-as' || k === 'default' || k === 'format') continue;
    else out[k] = strictSchema(v);
  }
  if (schema['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (schema['x-epp-validate-as'] !== undefined) return { type: 'object' }; // checked separately
  if (schema.type === 'object' && isObject(schema.properties) && schema.additionalProperties === undefined && schema['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  return out;
}

/** Paths (in the document) of values the CRD marks as core PodTemplateSpecs. */
function podTemplatePaths(schema: unknown, doc: unknown, path: string, out: [unknown, string][]): void {
  if (!isObject(schema) || doc === undefined || doc === null) return;
  if (schema['x-epp-validate-as'] === 'io.k8s.api.core.v1.PodTemplateSpec') return void out.push([doc, path]);
  if (isObject(schema.properties) && isObject(doc)) {
    for (const [k, s] of Object.entries(schema.properties)) podTemplatePaths(s, doc[k], `${path}.${k}`, out);
  }
  if (isObject(schema.items) && Array.isArray(doc)) doc.forEach((d: unknown, i) => podTemplatePaths(schema.items, d, `${path}[${i}]`, out));
}

interface CrdVersion {
  readonly source: string;
  readonly schema: Schema;
  readonly validate: ValidateFunction;
}

let crds: Map<string, CrdVersion> | undefined;

function loadCrds(): Map<string, CrdVersion> {
  if (crds !== undefined) return crds;
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  crds = new Map();
  for (const name of readdirSync(CRD_DIR).filter((n) => n.endsWith('.json'))) {
    const file = JSON.parse(readFileSync(join(CRD_DIR, name), 'utf8')) as CrdFile;
    for (const [version, schema] of Object.entries(file.versions)) {
      crds.set(`${file.group}/${version}/${file.kind}`, { source: file.source, schema, validate: ajv.compile(strictSchema(schema) as Schema) });
    }
  }
  return crds;
}

/** Which apiVersion/kind pairs can be validated. */
export function knownKinds(): string[] {
  return [...Object.keys(BUILTIN), ...loadCrds().keys()];
}

/** Validates one manifest; returns problems (empty = valid). Unknown kinds are a problem. */
export function validateManifest(doc: unknown, where = '$'): string[] {
  if (!isObject(doc)) return [`${where}: not an object`];
  const key = `${String(doc.apiVersion)}/${String(doc.kind)}`;
  const builtin = BUILTIN[key];
  if (builtin !== undefined) {
    const problems = modelProblems(builtin.model, doc, where);
    checkFieldNames(doc, builtin.clientModel, where, problems);
    return problems;
  }
  const crd = loadCrds().get(key);
  if (crd === undefined) return [`${where}: no schema for ${key}`];
  const problems: string[] = [];
  if (!crd.validate(doc)) {
    for (const e of crd.validate.errors ?? []) {
      const extra = e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : '';
      problems.push(`${where}${e.instancePath.replaceAll('/', '.')}: ${e.message ?? 'invalid'}${extra}`);
    }
  }
  // ObjectMeta through a kind that has nothing else required.
  problems.push(...modelProblems(ConfigMap, { metadata: doc.metadata ?? {} }, where));
  checkFieldNames(doc.metadata, 'V1ObjectMeta', `${where}.metadata`, problems);
  const templates: [unknown, string][] = [];
  podTemplatePaths(crd.schema, doc, where, templates);
  for (const [value, path] of templates) problems.push(...podTemplateProblems(value, path));
  return problems;
}

/** Kinds the chart can render that no schema here covers (Istio's CRDs are not vendored). */
export const UNVALIDATED_KINDS = new Set(['networking.istio.io/v1/DestinationRule']);

/** Asserts every manifest valid (except the kinds listed above), naming the failing one. */
export function expectValid(docs: readonly { apiVersion: string; kind: string; metadata: { name: string } }[]): void {
  for (const d of docs) {
    const key = `${d.apiVersion}/${d.kind}`;
    if (UNVALIDATED_KINDS.has(key)) continue;
    expect(validateManifest(d, `${d.kind}/${d.metadata.name}`), key).toEqual([]);
  }
}
