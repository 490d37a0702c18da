/**
 * Several InferencePools behind one gateway, chosen by model name, as the Gateway API does it: body-
 * based routing copies the body's `model` into `X-Gateway-Model-Name`, and HTTPRoute rules matching
 * that header (exactly) send the request to one pool, i.e. to that pool's endpoint picker. Here both
 * steps run in the gateway process (the model is read with the very code `epp bbr` uses), then the
 * request goes through the chosen pool's picker exactly as with a single pool.
 *
 * A route whose model is `*` catches every request no other route matches (including requests with no
 * model); without one, such requests get 404 with an OpenAI-style error body (Envoy's own no-route
 * 404 has an empty body).
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/** One route: requests for `model` go to the picker at `epp` (`host:port`). */
export interface PoolRoute {
  readonly model: string;
  readonly epp: string;
  /** TLS to this picker without certificate verification; default: the gateway's `eppTls`. */
  readonly eppTls?: boolean;
}

/** The model that catches what no other route matches. */
export const CATCH_ALL_MODEL = '*';

/** A routes flag or file is malformed. */
export class RoutesError extends Error {
  override readonly name = 'RoutesError';
}

/** Parses one `--pool MODEL=HOST:PORT` value. */
export function parsePoolFlag(text: string): PoolRoute {
  const at = text.lastIndexOf('=');
  const model = at < 0 ? '' : text.slice(0, at).trim();
  const epp = at < 0 ? '' : text.slice(at + 1).trim();
  if (model === '' || epp === '') throw new RoutesError(`--pool "${text}": expected MODEL=HOST:PORT`);
  return { model, epp };
}

const routesFileSchema = z.strictObject({
  routes: z
    .array(
      z.strictObject({
        model: z.string().min(1),
        epp: z.string().min(1),
        eppTls: z.boolean().optional(),
      }),
    )
    .min(1),
});

/**
 * Reads a routes file:
 *
 * ```yaml
 * routes:
 *   - model: meta-llama/Llama-3.1-8B-Instruct
 *     epp: 127.0.0.1:9002
 *   - model: Qwen/Qwen2.5-3B-Instruct
 *     epp: 127.0.0.1:9012
 *     eppTls: true
 * ```
 */
export function loadRoutesFile(path: string): PoolRoute[] {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new RoutesError(`routes file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = routesFileSchema.safeParse(doc);
  if (!parsed.success) throw new RoutesError(`routes file ${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data.routes.map((r) => (r.eppTls === undefined ? { model: r.model, epp: r.epp } : r));
}

/** Rejects duplicate models; returns the routes by model. */
export function indexRoutes(routes: readonly PoolRoute[]): ReadonlyMap<string, PoolRoute> {
  const byModel = new Map<string, PoolRoute>();
  for (const r of routes) {
    if (byModel.has(r.model)) throw new RoutesError(`model "${r.model}" is routed twice`);
    byModel.set(r.model, r);
  }
  return byModel;
}

/** The OpenAI-style body of the 404 for a model no route serves. */
export function modelNotFoundBody(model: string | undefined): string {
  const message = model === undefined ? 'The request names no model, and no route serves requests without one.' : `The model \`${model}\` does not exist.`;
  return JSON.stringify({ error: { message, type: 'invalid_request_error', param: 'model', code: 'model_not_found' } });
}
