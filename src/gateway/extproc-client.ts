/**
 * The gRPC client the gateway (and picker tests) use to reach an ext_proc server: one channel shared
 * by every stream, configured the way Envoy's ext_proc cluster usually is.
 */
import { isIP } from 'node:net';
import { credentials, makeClientConstructor, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { EXTERNAL_PROCESSOR_SERVICE, type ExternalProcessorClientType } from '../extproc/proto.js';

const ExternalProcessorClient = makeClientConstructor(EXTERNAL_PROCESSOR_SERVICE, 'envoy.service.ext_proc.v3.ExternalProcessor');

/** Options for {@link createExtProcClient}. */
export interface ExtProcClientOptions {
  /**
   * Speak TLS to the server without verifying its certificate or name, as Envoy/Istio configs do for
   * the picker's self-signed certificate. Default false (plain-text HTTP/2).
   */
  readonly tls?: boolean;
  /** Extra grpc-js channel options, applied over the defaults below. */
  readonly channelOptions?: ChannelOptions;
}

// Envoy's gRPC client has no receive limit by default (max_receive_message_length 0), whereas grpc-js
// would cap responses at 4 MiB; keepalive pings notice a dead picker on an idle connection.
const DEFAULT_CHANNEL_OPTIONS: ChannelOptions = {
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
};

/** Credentials for `tls`: TLS that accepts any certificate. */
export function extProcCredentials(tls: boolean): ChannelCredentials {
  if (!tls) return credentials.createInsecure();
  return credentials.createSsl(null, null, null, { rejectUnauthorized: false, checkServerIdentity: () => undefined });
}

/**
 * A client for `address` (`host:port`, as grpc-js targets are written). The caller owns it and must
 * `close()` it; streams already open keep running until they end.
 */
export function createExtProcClient(address: string, options: ExtProcClientOptions = {}): ExternalProcessorClientType {
  const tls = options.tls ?? false;
  const host = address.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  // grpc-js would send an IP address as the TLS server name, which Node rejects with a deprecation
  // warning (RFC 6066); the name is never verified here, so any fixed one will do.
  const sni: ChannelOptions = tls && isIP(host) !== 0 ? { 'grpc.ssl_target_name_override': 'localhost' } : {};
  const channelOptions = { ...DEFAULT_CHANNEL_OPTIONS, ...sni, ...options.channelOptions };
  return new ExternalProcessorClient(address, extProcCredentials(tls), channelOptions) as unknown as ExternalProcessorClientType;
}
