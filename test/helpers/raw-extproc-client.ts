/**
 * An Envoy-like ext_proc client for tests that keeps every response's raw bytes, so assertions can
 * decode the wire format independently of protobufjs.
 */
import { Client, credentials, type ClientDuplexStream, type ChannelCredentials } from '@grpc/grpc-js';
import { PROCESS_METHOD, type ProcessingRequest, type ProcessingResponse__Output } from '../../src/extproc/proto.js';

export interface RawResponse {
  readonly raw: Buffer;
  readonly msg: ProcessingResponse__Output;
}

export class RawExtProcClient {
  readonly client: Client;
  constructor(address: string, creds: ChannelCredentials = credentials.createInsecure()) {
    // The TLS name override keeps Node from using an IP address as the SNI server name (DEP0123).
    this.client = new Client(address, creds, { 'grpc.max_send_message_length': 64 * 1024 * 1024, 'grpc.ssl_target_name_override': 'localhost' });
  }

  /** Opens a stream; returns a handle that records responses and whether the server ended it. */
  open(): RawStream {
    const call = this.client.makeBidiStreamRequest(
      PROCESS_METHOD.path,
      (v: ProcessingRequest) => PROCESS_METHOD.requestSerialize(v),
      (b: Buffer) => b,
    );
    return new RawStream(call);
  }

  close(): void {
    this.client.close();
  }
}

export class RawStream {
  readonly responses: RawResponse[] = [];
  ended = false;
  error: (Error & { code?: number }) | undefined;
  readonly #waiters: (() => void)[] = [];

  constructor(private readonly call: ClientDuplexStream<ProcessingRequest, Buffer>) {
    call.on('data', (raw: Buffer) => {
      this.responses.push({ raw, msg: PROCESS_METHOD.responseDeserialize(raw) as ProcessingResponse__Output });
      this.#wake();
    });
    call.on('end', () => {
      this.ended = true;
      this.#wake();
    });
    call.on('error', (err: Error & { code?: number }) => {
      this.error = err;
      this.ended = true;
      this.#wake();
    });
  }

  send(msg: ProcessingRequest): void {
    this.call.write(msg);
  }

  halfClose(): void {
    this.call.end();
  }

  cancel(): void {
    this.call.cancel();
  }

  /** Resolves once `predicate` holds (checked on every event), or rejects after `timeoutMs`. */
  async until(predicate: (s: RawStream) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      if (Date.now() > deadline) throw new Error(`timed out with ${this.responses.length} responses, ended=${this.ended}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}

/** ProcessingRequest builders mirroring what Envoy sends. */
export function requestHeaders(headers: Record<string, string>, endOfStream = false, extra: Partial<ProcessingRequest> = {}): ProcessingRequest {
  return {
    request_headers: {
      headers: { headers: Object.entries(headers).map(([key, value]) => ({ key, raw_value: Buffer.from(value) })) },
      end_of_stream: endOfStream,
    },
    ...extra,
  };
}

export function requestBody(body: Buffer | string, endOfStream: boolean): ProcessingRequest {
  return { request_body: { body: typeof body === 'string' ? Buffer.from(body) : body, end_of_stream: endOfStream } };
}

/** Metadata context carrying a subset hint list. */
export function subsetHint(entries: readonly string[]): Partial<ProcessingRequest> {
  return {
    metadata_context: {
      filter_metadata: {
        'envoy.lb.subset_hint': {
          fields: { 'x-gateway-destination-endpoint-subset': { listValue: { values: entries.map((e) => ({ stringValue: e })) } } },
        },
      },
    },
  };
}
