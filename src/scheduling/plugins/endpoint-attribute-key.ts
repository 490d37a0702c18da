/**
 * How `endpoint-attribute-filter` and `-scorer` name the attribute they read (llm-d-router v0.10):
 * `attribute` plus an optional `producer`. Without `producer` it is a `customMetrics` attribute of the
 * core metrics extractor; with it, the attribute that producer's extractor publishes (e.g.
 * `dcgm-extractor`'s `GPUUtilization`); `producer: ""` names a producer-agnostic key. An attribute
 * containing `/` without an explicit producer is refused: it is the old combined spelling and would
 * silently match nothing.
 */
import type { z } from 'zod';
import { attributeKey, type Endpoint } from '../../datastore/endpoint.js';
import { CORE_METRICS_EXTRACTOR_TYPE } from '../../scrape/data-layer-plugins.js';

/** A resolved attribute reference; read with `readEndpointAttribute`. */
export interface EndpointAttributeRef {
  readonly attribute: string;
  /** Extractor type publishing it; `core-metrics-extractor` reads the endpoint's custom metrics. */
  readonly producer: string;
  /** `attributeKey(producer, attribute)`, precomputed for `Endpoint.attributes`. */
  readonly key: string;
}

/** Checks `attribute`/`producer` as the reference does, adding issues at `field` to `ctx`. */
export function resolveAttributeRef(attribute: string, producer: string | undefined, field: string, ctx: z.RefinementCtx): EndpointAttributeRef {
  if (attribute === '') ctx.addIssue({ code: 'custom', path: [field], message: 'must be a non-empty attribute name' });
  if (producer === undefined) {
    const slash = attribute.lastIndexOf('/');
    if (slash !== -1)
      ctx.addIssue({
        code: 'custom',
        path: [field],
        message: `"${attribute}" contains "/" but no producer is set; if this is the combined "attribute/producer" spelling, write ${field}: "${attribute.slice(0, slash)}" and producer: "${attribute.slice(slash + 1)}" (set producer explicitly if the name itself contains "/")`,
      });
  }
  const p = producer ?? CORE_METRICS_EXTRACTOR_TYPE;
  return { attribute, producer: p, key: attributeKey(p, attribute) };
}

/** The attribute's current value on `endpoint`, or undefined when absent (or its metrics are unknown). */
export function readEndpointAttribute(endpoint: Endpoint, ref: EndpointAttributeRef): number | undefined {
  if (ref.producer === CORE_METRICS_EXTRACTOR_TYPE) {
    const m = endpoint.metrics;
    return m.known ? m.custom?.[ref.attribute] : undefined;
  }
  return endpoint.attributes[ref.key];
}
