// Regenerates src/generated/ from proto/. CI's test suite checks the output is unchanged.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}src/generated`;
rmSync(out, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [
    `${root}node_modules/@grpc/proto-loader/build/bin/proto-loader-gen-types.js`,
    '--keepCase', '--longs=String', '--enums=String', '--defaults=false', '--oneofs',
    '--grpcLib=@grpc/grpc-js', '--importFileExtension=.js',
    '-I', `${root}proto`, '-O', out,
    'envoy/service/ext_proc/v3/external_processor.proto',
  ],
  { stdio: 'inherit', cwd: root },
);
