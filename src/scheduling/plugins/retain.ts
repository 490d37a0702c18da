/**
 * The filters' shared loop: keeps the candidates a predicate accepts, in order, without touching the
 * input. When nothing is dropped the input itself is returned, so the common "everything passes"
 * case allocates nothing.
 */
import type { Endpoint } from '../../datastore/endpoint.js';

export function retain(candidates: readonly Endpoint[], keep: (e: Endpoint) => boolean): readonly Endpoint[] {
  let out: Endpoint[] | undefined;
  for (let i = 0; i < candidates.length; i++) {
    const e = candidates[i] as Endpoint;
    if (keep(e)) {
      out?.push(e);
    } else if (out === undefined) {
      out = candidates.slice(0, i);
    }
  }
  return out ?? candidates;
}
