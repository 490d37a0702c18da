/**
 * `always-disagg-pd-decider`: every request whose decode endpoint was found is disaggregated
 * (reference §5.3; for tests and for pools where every prompt is long).
 *
 * The prefill-pool saturation guard of `pd-decider.ts` is available here too but off by default, so
 * the decider keeps its name's promise unless asked otherwise.
 *
 * ```yaml
 * - type: always-disagg-pd-decider
 *   parameters:                       # all optional (the reference takes none)
 *     skipWhenPrefillSaturated: false
 *     prefillQueueDepthThreshold: 5
 *     prefillKvCacheUtilThreshold: 0.9
 * ```
 */
import { z } from 'zod';
import type { Endpoint } from '../../../datastore/endpoint.js';
import { decodeParameters } from '../../../plugin/parameters.js';
import type { TypedName } from '../../../plugin/plugin.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { SchedulingRequest } from '../../types.js';
import { prefillPoolSaturated, rememberDecider, saturationConfig, saturationParameters, type DisaggVerdict, type PdDecider, type PrefillSaturationConfig } from './pd-decider.js';

export const ALWAYS_DISAGG_PD_DECIDER_TYPE = 'always-disagg-pd-decider';

const schema = z.strictObject(saturationParameters(false));

const NEVER_SKIP: PrefillSaturationConfig = { enabled: false, queueDepthThreshold: 5, kvCacheUtilThreshold: 0.9 };

export class AlwaysDisaggPdDecider implements PdDecider {
  readonly typedName: TypedName;

  constructor(
    name: string,
    readonly saturation: PrefillSaturationConfig = NEVER_SKIP,
  ) {
    this.typedName = { type: ALWAYS_DISAGG_PD_DECIDER_TYPE, name };
  }

  decide(request: SchedulingRequest, _decode: Endpoint | undefined, candidates: readonly Endpoint[]): DisaggVerdict {
    if (this.saturation.enabled && prefillPoolSaturated(this.saturation, request, candidates)) return 'prefill-saturated';
    return 'disaggregate';
  }
}

export const alwaysDisaggPdDeciderFactory: PluginFactory = (name, parameters, context) => {
  const p = decodeParameters(schema, parameters, ALWAYS_DISAGG_PD_DECIDER_TYPE, name);
  const decider = new AlwaysDisaggPdDecider(name, saturationConfig(p));
  rememberDecider(context, decider);
  return decider;
};
