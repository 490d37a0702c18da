// Regenerates src/generated/ from proto/ (or into the directory given as the first argument; the test
// suite does that to check the checked-in output is current).
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = process.argv[2] ?? `${root}src/generated`;
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
