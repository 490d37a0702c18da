#!/usr/bin/env node
// The `epp` command. A source checkout runs the TypeScript directly (through tsx); the container
// image ships only the compiled dist/ and runs that.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (existsSync(`${root}src/cli/main.ts`)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
} else {
  await import('../dist/cli/main.js');
}
