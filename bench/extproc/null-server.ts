/**
 * The null ext_proc server: the floor any picker on our transport shares. FULL_DUPLEX_STREAMED like
 * the picker, on the same gRPC/HTTP2 transport (src/grpc, src/h2), protobuf codec and server options,
 * but with no work of its own: it buffers the
 * request body until end_of_stream, then answers the request headers with a fixed destination
 * (destination header + `envoy.lb` metadata, route cache cleared, content-length as the picker sets
 * it) and echoes the body back as ≤62,000-byte StreamedBodyResponse chunks. No JSON parse, no
 * scheduling, no metrics, no logging.
 *
 *   node --import tsx bench/extproc/null-server.ts --port 9102 [--host 127.0.0.1] [--destination 127.0.0.1:8000]
 *     [--transport h2|grpc-js]
 *
 * `--transport grpc-js` serves the same handler on @grpc/grpc-js (the picker's transport before it had
 * its own), to show what the transport itself costs.
 *
 * Prints `listening <port>` on stdout once bound; SIGTERM/SIGINT stop it.
 */
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { parseFlags, type FlagSpec } from '../../src/cli/flags.js';
import { EXTERNAL_PROCESSOR_SERVICE, type ProcessingRequest__Output, type ProcessingResponse } from '../../src/extproc/proto.js';
import { routedHeadersResponse, setHeader, streamedBody } from '../../src/extproc/responses.js';
import { processMethod, StreamTracker } from '../../src/extproc/service.js';
import { GrpcServer } from '../../src/grpc/grpc-server.js';
import { silentLogger } from '../../src/observability/logger.js';
import { NullSession } from './null-session.js';

const FLAGS: readonly FlagSpec[] = [
  { name: 'port', kind: 'int', default: 0, help: 'ext_proc port (0 = ephemeral)' },
  { name: 'host', kind: 'string', default: '127.0.0.1', help: 'bind address' },
  { name: 'destination', kind: 'string', default: '127.0.0.1:8000', help: 'the fixed destination answered' },
  { name: 'max-request-body-bytes', kind: 'int', default: 32 * 1024 * 1024, help: 'receive limit, as the picker' },
  { name: 'transport', kind: 'string', default: 'h2', help: 'h2 (the picker\'s transport) | grpc-js' },
];

const MIB = 1024 * 1024;

function main(argv: readonly string[]): void {
  const { values } = parseFlags(FLAGS, argv);
  if (values.transport === 'grpc-js') {
    mainGrpcJs(values);
    return;
  }
  const port = Number(values.port);
  const host = String(values.host);
  const destination = String(values.destination);
  const maxBody = Number(values['max-request-body-bytes']);
  // Same options as the picker's ext_proc server (src/app.ts).
  const server = new GrpcServer({ logger: silentLogger(), label: 'null', maxReceiveMessageBytes: maxBody + MIB });
  server.addMethod(processMethod((sink) => new NullSession(sink, destination), silentLogger(), new StreamTracker(), 'null'));
  server.listen(host, port).then(
    (bound) => process.stdout.write(`listening ${bound}\n`),
    (err: Error) => {
      process.stderr.write(`null-server: listen ${host}:${port} failed: ${err.message}\n`);
      process.exit(1);
    },
  );
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => void server.close(), 2000);
    void server.drain().then(() => {
      clearTimeout(force);
      // A normal exit, so `--cpu-prof` writes its profile.
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** The same null handler on @grpc/grpc-js. */
function mainGrpcJs(values: ReturnType<typeof parseFlags>['values']): void {
  const port = Number(values.port);
  const host = String(values.host);
  const destination = String(values.destination);
  const maxBody = Number(values['max-request-body-bytes']);

  // Same options as the picker's ext_proc server (src/app.ts).
  const server = new Server({
    'grpc.max_receive_message_length': maxBody + MIB,
    'grpc.max_concurrent_streams': 10_000,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
  });

  const process_ = (call: ServerDuplexStream<ProcessingRequest__Output, ProcessingResponse>): void => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let answered = false;
    let ended = false;
    const send = (m: ProcessingResponse): void => {
      if (ended) return;
      if (!call.write(m)) {
        call.pause();
        call.once('drain', () => call.resume());
      }
    };
    const answer = (): void => {
      answered = true;
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, bytes);
      chunks.length = 0;
      const set = body.length > 0 ? [setHeader('content-length', String(body.length))] : [];
      send(routedHeadersResponse(destination, set, []));
      if (body.length > 0) for (const m of streamedBody('request', body, true)) send(m);
    };
    call.on('data', (msg: ProcessingRequest__Output) => {
      if (answered) return;
      if (msg.request === 'request_headers') {
        if (msg.request_headers?.end_of_stream === true) answer();
      } else if (msg.request === 'request_body') {
        const b = msg.request_body?.body;
        if (b !== undefined && b.length > 0) {
          chunks.push(b);
          bytes += b.length;
        }
        if (msg.request_body?.end_of_stream === true) answer();
      }
    });
    call.on('end', () => {
      if (ended) return;
      ended = true;
      call.end();
    });
    call.on('error', () => {
      ended = true;
    });
  };
  server.addService(EXTERNAL_PROCESSOR_SERVICE, { Process: process_ });

  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  server.bindAsync(address, ServerCredentials.createInsecure(), (err, bound) => {
    if (err !== null) {
      process.stderr.write(`null-server: bind ${address} failed: ${err.message}\n`);
      process.exit(1);
    }
    process.stdout.write(`listening ${bound}\n`);
  });

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => server.forceShutdown(), 2000);
    server.tryShutdown(() => {
      clearTimeout(force);
      // A normal exit, so `--cpu-prof` writes its profile.
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main(process.argv.slice(2));
