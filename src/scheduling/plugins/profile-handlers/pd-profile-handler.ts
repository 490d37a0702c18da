/**
 * `pd-profile-handler` (deprecated in the reference in favour of `disagg-profile-handler`): the same
 * handler (see `disagg-profile-handler.ts`) with the old parameters and metric. Decode first, then
 * prefill when `deciderPluginName` approves; no encode stage; counts the deprecated
 * `llm_d_inference_scheduler_pd_decision_total` when its decider is asked. Unlike the reference it
 * also sets `x-prefiller-host-port` itself, so a config that forgot `prefill-header-handler` still
 * disaggregates (with it, both set the same value).
 *
 * ```yaml
 * - type: pd-profile-handler
 *   parameters:
 *     decodeProfile: decode                      # default
 *     prefillProfile: prefill                    # default
 *     deciderPluginName: prefix-based-pd-decider # default; must name a decider declared earlier
 *     prefixPluginType: prefix-cache-scorer      # accepted, unused
 *     prefixPluginName: prefix-cache-scorer      # accepted, unused
 *     prefixMatchInfoProducerName: approx-prefix-cache-producer  # the prefix producer the decider depends on
 *                                                # (the default); as in the reference, the decider reads the
 *                                                # default producer's match and this only names the dependency
 *     primaryPort: 0                             # only 0 (the data-parallel port rewrite is not supported)
 * ```
 */
import { z } from 'zod';
import { decodeParameters } from '../../../plugin/parameters.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import { DEFAULT_DECODE_PROFILE, DEFAULT_ENCODE_PROFILE, DEFAULT_PREFILL_PROFILE } from './disagg-headers-handler.js';
import { DisaggProfileHandler, PD_PROFILE_HANDLER_TYPE, resolveDecider } from './disagg-profile-handler.js';
import { PREFIX_BASED_PD_DECIDER_TYPE } from './prefix-based-pd-decider.js';

const pdSchema = z.strictObject({
  decodeProfile: z.string().min(1).default(DEFAULT_DECODE_PROFILE),
  prefillProfile: z.string().min(1).default(DEFAULT_PREFILL_PROFILE),
  prefixPluginType: z.string().optional(),
  prefixPluginName: z.string().optional(),
  primaryPort: z
    .number()
    .int()
    .refine((v) => v === 0, { message: 'primaryPort (the deprecated data-parallel port rewrite) is not supported; route to rank ports directly' })
    .default(0),
  deciderPluginName: z.string().min(1).default(PREFIX_BASED_PD_DECIDER_TYPE),
  prefixMatchInfoProducerName: z.string().optional(),
});

export const pdProfileHandlerFactory: PluginFactory = (name, parameters, context) => {
  const p = decodeParameters(pdSchema, parameters, PD_PROFILE_HANDLER_TYPE, name);
  return new DisaggProfileHandler(name, {
    decodeProfile: p.decodeProfile,
    prefillProfile: p.prefillProfile,
    encodeProfile: DEFAULT_ENCODE_PROFILE,
    prefillDecider: resolveDecider(context, p.deciderPluginName, PD_PROFILE_HANDLER_TYPE, name, 'deciderPluginName'),
    encodeDecider: undefined,
    legacyPd: true,
    stageOrder: 'decode-first',
    ...(p.prefixMatchInfoProducerName === undefined || p.prefixMatchInfoProducerName === '' ? {} : { prefixMatchProducer: p.prefixMatchInfoProducerName }),
  });
};
