/**
 * Loads the ext_proc protocol from proto/ once per process. Options match the generated types in
 * src/generated/ (keepCase, oneof discriminators, enums as strings, 64-bit as strings).
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

/** Folder holding the .proto files (works from src/ and from dist/). */
export const PROTO_DIR = fileURLToPath(new URL('../../proto', import.meta.url));

const packageDefinition = loadSync('envoy/service/ext_proc/v3/external_processor.proto', {
  includeDirs: [PROTO_DIR],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
});

/**
 * The service definition: paths and codecs of its methods, for our gRPC server and for grpc-js
 * (`makeClientConstructor` in the gateway). Taken from the package definition itself so the picker
 * does not load grpc-js.
 */
export const EXTERNAL_PROCESSOR_SERVICE = packageDefinition['envoy.service.ext_proc.v3.ExternalProcessor'] as unknown as ServiceDefinition;

export type { ProcessingRequest, ProcessingRequest__Output } from '../generated/envoy/service/ext_proc/v3/ProcessingRequest.js';
export type { ProcessingResponse, ProcessingResponse__Output } from '../generated/envoy/service/ext_proc/v3/ProcessingResponse.js';
export type { HeaderValueOption } from '../generated/envoy/config/core/v3/HeaderValueOption.js';
export type { HeaderValue__Output } from '../generated/envoy/config/core/v3/HeaderValue.js';
export type { Struct, Struct__Output } from '../generated/google/protobuf/Struct.js';
export type { ExternalProcessorClient as ExternalProcessorClientType } from '../generated/envoy/service/ext_proc/v3/ExternalProcessor.js';

/** `Process` method definition: its serializers let tests see the raw bytes on the wire. */
export const PROCESS_METHOD = EXTERNAL_PROCESSOR_SERVICE.Process as unknown as {
  readonly path: string;
  readonly requestSerialize: (value: unknown) => Buffer;
  readonly responseDeserialize: (bytes: Buffer) => unknown;
};
