/**
 * `dcgm-extractor`: reads `DCGM_FI_DEV_GPU_UTIL` (percent, one series per GPU) from a DCGM Exporter
 * page and publishes the endpoint's busiest GPU as `GPUUtilization` in [0, 1] (producer
 * `dcgm-extractor`), for `endpoint-attribute-filter` / `-scorer`. As llm-d-router v0.10: a series
 * with a `pod` label counts only when it names this endpoint's pod (a DaemonSet page lists several
 * pods); one without counts always (a sidecar page). Here the pod label is also matched against the
 * endpoint name without its `-rank-N` suffix, since endpoints of a multi-port pod are named so.
 */
import type { Endpoint } from '../datastore/endpoint.js';
import type { PluginFactory } from '../plugin/registry.js';
import type { TypedName } from '../plugin/plugin.js';
import { decodeParameters, noParametersSchema } from '../plugin/parameters.js';
import { publishAttributes, type AttributeExtraction, type AttributeExtractor } from './attribute-source.js';
import { parsePrometheusText } from './prometheus-text.js';

export const DCGM_EXTRACTOR_TYPE = 'dcgm-extractor';
export const GPU_UTILIZATION_ATTRIBUTE = 'GPUUtilization';
export const DCGM_GPU_UTIL_METRIC = 'DCGM_FI_DEV_GPU_UTIL';

const WANTED: ReadonlySet<string> = new Set([DCGM_GPU_UTIL_METRIC]);
const RANK_SUFFIX = /-rank-\d+$/;

const PRODUCES: readonly string[] = [GPU_UTILIZATION_ATTRIBUTE];

export class DcgmExtractor implements AttributeExtractor {
  readonly typedName: TypedName;

  constructor(name: string) {
    this.typedName = { type: DCGM_EXTRACTOR_TYPE, name };
  }

  update(page: string, endpoint: Endpoint): string | undefined {
    const result = this.extract(page, endpoint);
    publishAttributes(endpoint, DCGM_EXTRACTOR_TYPE, PRODUCES, result.ok ? result.values : undefined);
    return result.ok ? undefined : result.reason;
  }

  clear(endpoint: Endpoint): void {
    publishAttributes(endpoint, DCGM_EXTRACTOR_TYPE, PRODUCES, undefined);
  }

  /** The endpoint's GPU utilization on `page`, without publishing it. */
  extract(page: string, endpoint: Endpoint): AttributeExtraction {
    const pod = endpoint.name.replace(RANK_SUFFIX, '');
    let max = -1;
    let series = 0;
    parsePrometheusText(page, WANTED, (_name, labels, value) => {
      series++;
      const samplePod = labels.pod;
      if (samplePod !== undefined && samplePod !== '' && samplePod !== endpoint.name && samplePod !== pod) return;
      if (Number.isFinite(value) && value > max) max = value;
    });
    if (series === 0) return { ok: false, reason: `metric ${DCGM_GPU_UTIL_METRIC} not found in the DCGM page` };
    if (max < 0) return { ok: false, reason: `metric ${DCGM_GPU_UTIL_METRIC} has no usable sample for pod ${pod}` };
    return { ok: true, values: { [GPU_UTILIZATION_ATTRIBUTE]: Math.min(1, max / 100) } };
  }
}

export const dcgmExtractorFactory: PluginFactory = (name, parameters) => {
  decodeParameters(noParametersSchema, parameters, DCGM_EXTRACTOR_TYPE, name);
  return new DcgmExtractor(name);
};
