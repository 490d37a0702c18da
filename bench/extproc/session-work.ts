/**
 * Per-request CPU of the ext_proc session layer, picker against null, without sockets: each request is
 * its protobuf-encoded ProcessingRequest messages (request headers, one body message), decoded with
 * the server's codec, handled by a session, and every answer encoded as the server would send it. The
 * picker's session is the real one (parser, director, scheduler with the built-in default config or
 * `--config FILE`, metrics); the null session is the bench's null server's. 32 streams are held open at
 * a time, as at c=32, so what a request keeps alive lives as long as it would.
 *
 * The transport under both (src/h2, src/grpc) is the same code and is left out: the difference between
 * the two figures is what the picker adds per request beyond the ext_proc floor, measured without the
 * kernel and scheduler noise of `run.ts` rounds on a shared machine. Reports the minimum over rounds.
 *
 *   npx tsx bench/extproc/session-work.ts [--prompt-bytes 4096] [--requests 20000] [--rounds 6] [--config FILE]
 */
import { EXTERNAL_PROCESSOR_SERVICE, type ProcessingRequest, type ProcessingRequest__Output, type ProcessingResponse } from '../../src/extproc/proto.js';
import type { StreamSession } from '../../src/extproc/service.js';
import { ExtProcSession, type ResponseSink } from '../../src/extproc/session.js';
import { splitFormOf } from '../../src/extproc/streamed-body-codec.js';
import { LogLimiter } from '../../src/observability/log-limiter.js';
import { silentLogger } from '../../src/observability/logger.js';
import { OpenAIParser } from '../../src/request/request-parser.js';
import { BodyFactory } from './load.js';
import { NullSession } from './null-session.js';
import { configName, inProcessDirector, workOptions } from './work-setup.js';

const options = workOptions();
const { promptBytes, requests, rounds } = options;
const IN_FLIGHT = 32;
const BATCH = 1024;

const codec = EXTERNAL_PROCESSOR_SERVICE.Process as unknown as {
  readonly requestSerialize: (value: ProcessingRequest) => Buffer;
  readonly requestDeserialize: (bytes: Buffer) => ProcessingRequest__Output;
  readonly responseSerialize: (value: ProcessingResponse) => Buffer;
};

const { director, metrics } = inProcessDirector(options, true);
const sessionOptions = {
  router: director,
  parser: new OpenAIParser('openai-parser'),
  metrics,
  logger: silentLogger(),
  defaultBodyMode: 'full-duplex' as const,
  maxRequestBodyBytes: 32 << 20,
  decisionTimeoutMs: 5000,
  timers: { setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout) },
  shuttingDown: () => false,
  rejectionLog: new LogLimiter(10, 60_000, () => performance.now()),
};

/**
 * Encodes every answer as the transport does (a body chunk's split form, else the whole message);
 * counts the bytes so nothing is optimised away.
 */
class EncodingSink implements ResponseSink {
  bytes = 0;
  send(response: ProcessingResponse): void {
    const split = splitFormOf(response);
    this.bytes += split === undefined ? codec.responseSerialize(response).length : split.head.length + split.tail.length;
  }
  end(): void {}
}

const factory = new BodyFactory(promptBytes);
let tag = 0;

function messagesFor(i: number): [Buffer, Buffer] {
  const headers = codec.requestSerialize({
    request_headers: {
      headers: {
        headers: [
          { key: ':method', raw_value: Buffer.from('POST') },
          { key: ':path', raw_value: Buffer.from('/v1/completions') },
          { key: ':authority', raw_value: Buffer.from('gateway') },
          { key: 'content-type', raw_value: Buffer.from('application/json') },
          { key: 'x-request-id', raw_value: Buffer.from(`req-${tag}-${i}`) },
        ],
      },
    },
  });
  const body = codec.requestSerialize({ request_body: { body: factory.body(i, `w${tag}`), end_of_stream: true } });
  return [headers, body];
}

/** Runs `n` requests through sessions made by `make`; returns CPU µs per request. */
function run(n: number, make: (sink: ResponseSink) => StreamSession): number {
  let cpu = 0;
  let done = 0;
  const open: StreamSession[] = [];
  const sink = new EncodingSink();
  while (done < n) {
    tag++;
    const batch = Array.from({ length: Math.min(BATCH, n - done) }, (_, i) => messagesFor(i));
    const c0 = process.cpuUsage();
    for (const [h, b] of batch) {
      const s = make(sink);
      s.onMessage(codec.requestDeserialize(h));
      s.onMessage(codec.requestDeserialize(b));
      open.push(s);
      // Envoy resets the stream once the response is through; here, once 32 newer ones are open.
      if (open.length > IN_FLIGHT) (open.shift() as StreamSession).onStreamEnd();
      done++;
    }
    const c = process.cpuUsage(c0);
    cpu += c.user + c.system;
  }
  for (const s of open) s.onStreamEnd();
  return cpu / n;
}

const picker = (sink: ResponseSink): StreamSession => new ExtProcSession(sink, sessionOptions);
const nul = (sink: ResponseSink): StreamSession => new NullSession(sink, '127.0.0.1:8000');

// Warm-up: fills the prefix index to its LRU capacity, so measured requests evict as in steady state.
run(Math.max(requests, 8000), picker);
run(Math.max(requests, 8000), nul);
let bestPicker = Infinity;
let bestNull = Infinity;
for (let r = 0; r < rounds; r++) {
  bestNull = Math.min(bestNull, run(requests, nul));
  bestPicker = Math.min(bestPicker, run(requests, picker));
}
process.stdout.write(
  `session work, ${promptBytes}-byte distinct prompts, ${configName(options)} ` +
    `(min of ${rounds} rounds of ${requests}): null ${bestNull.toFixed(1)} µs, picker ${bestPicker.toFixed(1)} µs, ` +
    `picker adds ${(bestPicker - bestNull).toFixed(1)} µs per request\n`,
);
