// Regenerates src/generated/ from proto/ (or into the directory given as the first argument; the test
// suite does that to check the checked-in output is current).
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

// The generator records each file's absolute source path; keep it relative so output is the same on
// every checkout.
const walk = (dir) => readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
for (const file of walk(out)) {
  const text = readFileSync(file, 'utf8');
  const fixed = text.replaceAll(`Original file: ${root}`, 'Original file: ');
  if (fixed !== text) writeFileSync(file, fixed);
}
