/**
 * `epp bbr`: the body-based-routing ext_proc server (GIE's bbr) with the picker's serving edge: TLS
 * (self-signed unless a certificate directory is given), gRPC health on its own port, Prometheus
 * metrics, per-stream isolation and drain on shutdown. Each stream is one {@link BbrSession}.
 */
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { bindServer } from '../extproc/grpc-bind.js';
import { EXTERNAL_PROCESSOR_SERVICE, type ProcessingRequest__Output, type ProcessingResponse } from '../extproc/proto.js';
import { serveProcessStream, StreamTracker } from '../extproc/service.js';
import { loadCertificate, selfSignedCertificate, serverCredentials, type KeyPair } from '../extproc/tls.js';
import { createHealthHandlers, HealthState, healthServiceDefinition } from '../health/health-service.js';
import type { Logger } from '../observability/logger.js';
import { startMetricsServer } from '../observability/metrics-server.js';
import { BbrMetrics } from './metrics.js';
import { BbrSession, type BbrSessionOptions } from './session.js';

/** How `startBbr` runs. Ports: 0 = ephemeral; a negative metrics port = no metrics listener. */
export interface BbrOptions {
  readonly host: string;
  readonly grpcPort: number;
  readonly grpcHealthPort: number;
  readonly metricsPort: number;
  readonly secureServing: boolean;
  /** Directory with tls.crt/tls.key; '' = self-signed at start. */
  readonly certPath: string;
  /** Reuse a certificate (tests) instead of generating one. */
  readonly keyPair?: KeyPair;
  readonly maxRequestBodyBytes: number;
  readonly requestBodyMode: BbrSessionOptions['defaultBodyMode'];
  /** Also serve gRPC health on the ext_proc port. */
  readonly healthChecking: boolean;
  readonly logger: Logger;
}

/** A running body-based router. `shutdown` is idempotent. */
export interface BbrServer {
  readonly grpcPort: number;
  readonly grpcHealthPort: number;
  /** -1 when there is no metrics listener. */
  readonly metricsPort: number;
  readonly metrics: BbrMetrics;
  readonly streams: StreamTracker;
  /** Readiness goes NOT_SERVING, new streams are refused, live ones get `graceMs` to finish. */
  shutdown(graceMs: number): Promise<void>;
}

const MIB = 1024 * 1024;

function processHandler(options: BbrSessionOptions, tracker: StreamTracker) {
  return (call: ServerDuplexStream<ProcessingRequest__Output, ProcessingResponse>): void =>
    serveProcessStream(call, (sink) => new BbrSession(sink, options), options.logger, tracker, 'bbr');
}

/** Starts the body-based router; resolves once every listener is bound. */
export async function startBbr(options: BbrOptions): Promise<BbrServer> {
  const { logger } = options;
  const metrics = new BbrMetrics({ defaultMetrics: true });
  const streams = new StreamTracker();
  const health = new HealthState(() => true);
  const extProcServer = new Server({
    'grpc.max_receive_message_length': options.maxRequestBodyBytes + MIB,
    'grpc.max_concurrent_streams': 10_000,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
  });
  extProcServer.addService(
    EXTERNAL_PROCESSOR_SERVICE,
    { Process: processHandler({ metrics, logger, defaultBodyMode: options.requestBodyMode, maxRequestBodyBytes: options.maxRequestBodyBytes }, streams) },
  );
  if (options.healthChecking) extProcServer.addService(healthServiceDefinition, createHealthHandlers(health));
  const healthServer = new Server();
  healthServer.addService(healthServiceDefinition, createHealthHandlers(health));
  let metricsServer: { port: number; close: () => Promise<void> } | undefined;
  try {
    const keyPair = options.secureServing ? (options.keyPair ?? (options.certPath !== '' ? loadCertificate(options.certPath) : await selfSignedCertificate())) : undefined;
    const grpcPort = await bindServer(extProcServer, options.host, options.grpcPort, serverCredentials(keyPair));
    const grpcHealthPort = await bindServer(healthServer, options.host, options.grpcHealthPort, ServerCredentials.createInsecure());
    if (options.metricsPort >= 0) metricsServer = await startMetricsServer(metrics.registry, options.host, options.metricsPort);
    const metricsPort = metricsServer?.port ?? -1;
    logger.info({ grpcPort, grpcHealthPort, metricsPort, secureServing: options.secureServing }, 'body-based router serving');
    let stopping: Promise<void> | undefined;
    const shutdown = (graceMs: number): Promise<void> => {
      stopping ??= (async () => {
        health.startDraining();
        const force = setTimeout(() => extProcServer.forceShutdown(), graceMs);
        await new Promise<void>((r) => extProcServer.tryShutdown(() => r()));
        clearTimeout(force);
        healthServer.forceShutdown();
        await metricsServer?.close();
        logger.info({ streamsServed: streams.total }, 'body-based router stopped');
      })();
      return stopping;
    };
    return { grpcPort, grpcHealthPort, metricsPort, metrics, streams, shutdown };
  } catch (err) {
    extProcServer.forceShutdown();
    healthServer.forceShutdown();
    await metricsServer?.close();
    throw err;
  }
}
