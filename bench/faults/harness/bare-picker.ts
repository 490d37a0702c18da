/**
 * The picker's request path without `startPicker`'s wiring: the real Director (default scheduling
 * profile, a fixed endpoint set) behind the real ext_proc session and our HTTP/2 + gRPC transport,
 * for scenarios that inject a router fault or shorten transport limits (`startPicker` fixes both).
 */
import { registerBuiltins } from '../../../src/builtins.js';
import { buildScheduler } from '../../../src/config/build-scheduler.js';
import { loadConfig } from '../../../src/config/load-config.js';
import { Datastore } from '../../../src/datastore/datastore.js';
import { Director, type RequestRouter } from '../../../src/director/director.js';
import { extProcMethod, StreamTracker } from '../../../src/extproc/service.js';
import type { H2Limits } from '../../../src/h2/h2-connection.js';
import { GrpcServer } from '../../../src/grpc/grpc-server.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { EppMetrics } from '../../../src/observability/metrics.js';
import { OpenAIParser } from '../../../src/request/request-parser.js';

export interface BarePickerOptions {
  /** `ip:port` endpoints. */
  readonly endpoints: readonly string[];
  readonly decisionTimeoutMs?: number;
  readonly limits?: Partial<H2Limits>;
  /** Wraps the real Director (fault injection). */
  readonly wrap?: (director: Director) => RequestRouter;
}

export class BarePicker {
  private constructor(
    readonly server: GrpcServer,
    readonly port: number,
    readonly tracker: StreamTracker,
    readonly endpoints: ReadonlySet<string>,
  ) {}

  static async start(options: BarePickerOptions): Promise<BarePicker> {
    const metrics = new EppMetrics();
    const datastore = new Datastore();
    datastore.setEndpoints(
      options.endpoints.map((hp, i) => {
        const at = hp.lastIndexOf(':');
        return { name: `e${i}`, address: hp.slice(0, at), port: Number(hp.slice(at + 1)), labels: {} };
      }),
    );
    const { scheduler } = buildScheduler(loadConfig('default'), registerBuiltins(), { random: Math.random, now: () => performance.now() }, metrics);
    const director = new Director(datastore, scheduler, { disableSubsetFilter: false, random: Math.random, metrics });
    const tracker = new StreamTracker();
    const server = new GrpcServer({ logger: silentLogger(), label: 'ext_proc', maxReceiveMessageBytes: 33 << 20, limits: options.limits });
    server.addMethod(
      extProcMethod(
        {
          router: options.wrap?.(director) ?? director,
          parser: new OpenAIParser('openai-parser'),
          metrics,
          logger: silentLogger(),
          defaultBodyMode: 'full-duplex',
          maxRequestBodyBytes: 32 << 20,
          decisionTimeoutMs: options.decisionTimeoutMs ?? 5000,
          timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
        },
        tracker,
      ),
    );
    const port = await server.listen('127.0.0.1', 0);
    return new BarePicker(server, port, tracker, new Set(options.endpoints));
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
