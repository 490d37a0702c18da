/**
 * The P/D request headers, and the deprecated `disagg-headers-handler` / `prefill-header-handler`
 * PreRequest plugins that set them (reference §5.3, §7; `disagg-profile-handler` sets them itself):
 *
 * - `x-prefiller-host-port: ip:port` — the prefill profile's first target, when it ran and found one;
 * - `x-encoder-hosts-ports: ip:port,ip:port` — every target of the encode profile, when it ran.
 *
 * A client-supplied copy of either header never reaches the model server: both are owned headers of
 * the protocol edge (`OWNED_REQUEST_HEADERS`), removed unless a plugin sets them.
 *
 * ```yaml
 * - type: prefill-header-handler   # or disagg-headers-handler
 *   parameters:
 *     prefillProfile: prefill      # default
 *     encodeProfile: encode        # default
 * ```
 */
import { z } from 'zod';
import { ENCODER_HOSTS_PORTS_HEADER, PREFILLER_HOST_PORT_HEADER } from '../../../extproc/headers.js';
import { decodeParameters } from '../../../plugin/parameters.js';
import type { TypedName } from '../../../plugin/plugin.js';
import type { PluginFactory } from '../../../plugin/registry.js';
import type { PreRequestHook, SchedulingRequest, SchedulingResult } from '../../types.js';

export const DISAGG_HEADERS_HANDLER_TYPE = 'disagg-headers-handler';
export const PREFILL_HEADER_HANDLER_TYPE = 'prefill-header-handler';

export const DEFAULT_DECODE_PROFILE = 'decode';
export const DEFAULT_PREFILL_PROFILE = 'prefill';
export const DEFAULT_ENCODE_PROFILE = 'encode';

/** Adds the P/D headers `result` calls for to `setHeaders` (lower-case names). */
export function setDisaggHeaders(result: SchedulingResult, prefillProfile: string, encodeProfile: string, setHeaders: Map<string, string>): void {
  const prefill = result.profileResults.get(prefillProfile)?.targets[0];
  if (prefill !== undefined) setHeaders.set(PREFILLER_HOST_PORT_HEADER, prefill.hostPort);
  const encode = result.profileResults.get(encodeProfile)?.targets;
  if (encode !== undefined && encode.length > 0) setHeaders.set(ENCODER_HOSTS_PORTS_HEADER, encode.map((e) => e.hostPort).join(','));
}

const schema = z.strictObject({
  prefillProfile: z.string().min(1).default(DEFAULT_PREFILL_PROFILE),
  encodeProfile: z.string().min(1).default(DEFAULT_ENCODE_PROFILE),
});

export class DisaggHeadersHandler implements PreRequestHook {
  readonly typedName: TypedName;

  constructor(
    name: string,
    readonly prefillProfile = DEFAULT_PREFILL_PROFILE,
    readonly encodeProfile = DEFAULT_ENCODE_PROFILE,
    type = DISAGG_HEADERS_HANDLER_TYPE,
  ) {
    this.typedName = { type, name };
  }

  preRequest(_request: SchedulingRequest, result: SchedulingResult, setHeaders: Map<string, string>): void {
    setDisaggHeaders(result, this.prefillProfile, this.encodeProfile, setHeaders);
  }
}

function factory(type: string): PluginFactory {
  return (name, parameters) => {
    const p = decodeParameters(schema, parameters, type, name);
    return new DisaggHeadersHandler(name, p.prefillProfile, p.encodeProfile, type);
  };
}

export const disaggHeadersHandlerFactory: PluginFactory = factory(DISAGG_HEADERS_HANDLER_TYPE);
export const prefillHeaderHandlerFactory: PluginFactory = factory(PREFILL_HEADER_HANDLER_TYPE);
