/**
 * The body-based router's Prometheus metrics, with GIE bbr's names (subsystem `bbr`): one success
 * counter and two failure counters, all without labels, on a private registry.
 */
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';

export class BbrMetrics {
  readonly registry = new Registry();
  /** Model read from the body and set as `X-Gateway-Model-Name`. */
  readonly success = new Counter({
    name: 'bbr_success_total',
    help: 'Count of successes pulling model name from body and injecting it in the request headers.',
    registers: [this.registry],
  });
  /** No body, no `model` field, or an empty one: passed through without the header. */
  readonly modelNotInBody = new Counter({
    name: 'bbr_model_not_in_body_total',
    help: 'Count of times the model was not present in the request body.',
    registers: [this.registry],
  });
  /** A body that is not a JSON object, or a `model` that is not a usable string: passed through without the header. */
  readonly modelNotParsed = new Counter({
    name: 'bbr_model_not_parsed_total',
    help: 'Count of times the model was in the request body but we could not parse it.',
    registers: [this.registry],
  });
  /** Bodies beyond the size cap, answered 413 (not in GIE, which has no cap). */
  readonly bodyTooLarge = new Counter({
    name: 'bbr_request_body_too_large_total',
    help: 'Count of requests rejected with 413 because the body exceeded the size limit.',
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics === true) collectDefaultMetrics({ register: this.registry });
  }
}
