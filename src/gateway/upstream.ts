/**
 * The hop to the model server, as Envoy's router does it for an ORIGINAL_DST cluster: HTTP/1.1 to the
 * chosen `ip:port` over a keep-alive pool, headers taken from the (mutated) request header list, with
 * a bounded connect phase and an idle timeout.
 */
import { request, type Agent, type ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import type { Endpoint } from './destination.js';
import type { HeaderList } from './header-list.js';

/** Why an upstream request failed, mapped by the caller to Envoy-like replies. */
export type UpstreamFailure = 'connect' | 'connect-timeout' | 'reset' | 'idle-timeout';

/** An upstream error tagged with its {@link UpstreamFailure}. */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    readonly failure: UpstreamFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Timeouts for {@link openUpstream}. */
export interface UpstreamTimeouts {
  /** Bound on establishing a new connection (Envoy `connect_timeout`). */
  readonly connectMs: number;
  /** Bound on socket inactivity once connected (Envoy `stream_idle_timeout`); 0 disables it. */
  readonly idleMs: number;
}

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ETIMEDOUT', 'EAI_AGAIN']);

/** An upstream request and the means to classify its `error` events. */
export interface UpstreamCall {
  readonly request: ClientRequest;
  /** Maps an `error` from `request` (or its response) to an {@link UpstreamError}. */
  readonly classify: (err: unknown) => UpstreamError;
}

/**
 * Starts the upstream request (headers go out on the first write or `end`). Method from `:method`,
 * path from `:path`, `host` from `:authority`. The caller writes the body, listens for `response` and
 * `error`, and passes errors through `classify`.
 */
export function openUpstream(endpoint: Endpoint, headers: HeaderList, agent: Agent, timeouts: UpstreamTimeouts): UpstreamCall {
  const outgoing = headers.toForwardHeaders();
  const authority = headers.get(':authority');
  if (authority !== undefined && authority !== '') outgoing.host = authority;
  const upstream = request({
    host: endpoint.host,
    port: endpoint.port,
    family: endpoint.address.startsWith('[') ? 6 : 4,
    method: headers.get(':method') ?? 'GET',
    path: headers.get(':path') ?? '/',
    headers: outgoing,
    setHost: authority === undefined || authority === '',
    agent,
  });
  let connected = false;
  let timedOut: UpstreamFailure | undefined;
  upstream.on('socket', (socket: Socket) => {
    if (!socket.connecting) {
      connected = true;
      return;
    }
    const timer = setTimeout(() => {
      timedOut = 'connect-timeout';
      upstream.destroy();
    }, timeouts.connectMs);
    socket.once('connect', () => {
      connected = true;
      clearTimeout(timer);
    });
    socket.once('close', () => clearTimeout(timer));
  });
  if (timeouts.idleMs > 0) {
    upstream.setTimeout(timeouts.idleMs, () => {
      timedOut = 'idle-timeout';
      upstream.destroy();
    });
  }
  const classify = (err: unknown): UpstreamError => {
    if (err instanceof UpstreamError) return err;
    const message = err instanceof Error ? err.message : String(err);
    if (timedOut !== undefined) return new UpstreamError(timedOut, `upstream ${timedOut}`, { cause: err });
    const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
    const failure: UpstreamFailure = !connected || CONNECT_ERRORS.has(code) ? 'connect' : 'reset';
    return new UpstreamError(failure, message, { cause: err });
  };
  return { request: upstream, classify };
}
