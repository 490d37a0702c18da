/**
 * `epp bbr`: the body-based-routing ext_proc server (GIE's bbr) with the picker's serving edge: TLS
 * (self-signed unless a certificate directory is given), gRPC health on its own port, Prometheus
 * metrics, per-stream isolation and drain on shutdown. Each stream is one {@link BbrSession}.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { bindServer } from '../extproc/grpc-bind.js';
import { processMethod, StreamTracker } from '../extproc/service.js';
import { loadCertificate, selfSignedCertificate, type KeyPair } from '../extproc/tls.js';
import { GrpcServer } from '../grpc/grpc-server.js';
import { healthMethods } from '../health/health-methods.js';
import { createHealthHandlers, healthServiceDefinition } from '../health/health-service.js';
import { HealthState, KNOWN_HEALTH_SERVICES } from '../health/health-state.js';
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

/** Starts the body-based router; resolves once every listener is bound. */
export async function startBbr(options: BbrOptions): Promise<BbrServer> {
  const { logger } = options;
  const metrics = new BbrMetrics({ defaultMetrics: true });
  const streams = new StreamTracker();
  const health = new HealthState(() => true);
  const sessionOptions: BbrSessionOptions = { metrics, logger, defaultBodyMode: options.requestBodyMode, maxRequestBodyBytes: options.maxRequestBodyBytes };
  const healthServer = new Server();
  healthServer.addService(healthServiceDefinition, createHealthHandlers(health));
  let metricsServer: { port: number; close: () => Promise<void> } | undefined;
  let extProcServer: GrpcServer | undefined;
  try {
    const keyPair = options.secureServing ? (options.keyPair ?? (options.certPath !== '' ? loadCertificate(options.certPath) : await selfSignedCertificate())) : undefined;
    extProcServer = new GrpcServer({ logger, label: 'bbr', maxReceiveMessageBytes: options.maxRequestBodyBytes + MIB, tls: keyPair });
    extProcServer.addMethod(processMethod((sink) => new BbrSession(sink, sessionOptions), logger, streams, 'bbr'));
    if (options.healthChecking) for (const m of healthMethods(() => health.status(), KNOWN_HEALTH_SERVICES)) extProcServer.addMethod(m);
    const grpcPort = await extProcServer.listen(options.host, options.grpcPort);
    const extProc = extProcServer;
    const grpcHealthPort = await bindServer(healthServer, options.host, options.grpcHealthPort, ServerCredentials.createInsecure());
    if (options.metricsPort >= 0) metricsServer = await startMetricsServer(metrics.registry, options.host, options.metricsPort);
    const metricsPort = metricsServer?.port ?? -1;
    logger.info({ grpcPort, grpcHealthPort, metricsPort, secureServing: options.secureServing }, 'body-based router serving');
    let stopping: Promise<void> | undefined;
    const shutdown = (graceMs: number): Promise<void> => {
      stopping ??= (async () => {
        health.startDraining();
        const force = setTimeout(() => void extProc.close(), graceMs);
        await extProc.drain();
        clearTimeout(force);
        healthServer.forceShutdown();
        await metricsServer?.close();
        logger.info({ streamsServed: streams.total }, 'body-based router stopped');
      })();
      return stopping;
    };
    return { grpcPort, grpcHealthPort, metricsPort, metrics, streams, shutdown };
  } catch (err) {
    void extProcServer?.close();
    healthServer.forceShutdown();
    await metricsServer?.close();
    throw err;
  }
}
