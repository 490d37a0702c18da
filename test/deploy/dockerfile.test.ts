/**
 * The container image recipe: multi-stage, Node 20 runtime, non-root, `epp serve` as entry point so
 * the reference chart's arguments work unchanged, and every COPY source present in the build context.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helm.js';

interface Instruction {
  readonly op: string;
  readonly args: string;
}

/** Dockerfile instructions with line continuations joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  return lines.map((l) => {
    const m = /^(\S+)\s+(.*)$/.exec(l);
    return { op: (m?.[1] ?? l).toUpperCase(), args: m?.[2] ?? '' };
  });
}

const instructions = parseDockerfile(readFileSync(`${ROOT}Dockerfile`, 'utf8'));
const stages: Instruction[][] = [];
for (const i of instructions) {
  if (i.op === 'FROM') stages.push([]);
  stages.at(-1)?.push(i);
}
const runtime = stages.at(-1) ?? [];
const dockerignore = readFileSync(`${ROOT}.dockerignore`, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));

describe('Dockerfile', () => {
  it('builds in one stage and runs in a Node 20 slim stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages[0]?.[0]?.args).toMatch(/^node:20[-\w.]* AS build$/);
    expect(runtime[0]?.args).toMatch(/^node:20-[\w.-]*slim$/);
    expect(instructions.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n')).toMatch(/npm ci[\s\S]*npm run build[\s\S]*npm prune --omit=dev/);
  });

  it('runs the runtime stage as a non-root user with `epp serve` as the entry point', () => {
    const user = runtime.filter((i) => i.op === 'USER').at(-1)?.args ?? '';
    expect(user).toMatch(/^\d+(:\d+)?$/); // numeric, so Kubernetes runAsNonRoot can verify it
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
    expect(runtime.filter((i) => i.op === 'ENTRYPOINT').at(-1)?.args).toBe('["epp", "serve"]');
    expect(runtime.some((i) => i.op === 'RUN' && i.args.includes('/app/bin/epp.js /usr/local/bin/epp'))).toBe(true);
    expect(runtime.find((i) => i.op === 'EXPOSE')?.args.split(/\s+/)).toEqual(['9002', '9003', '9090']);
  });

  it('ships compiled code without src/, so bin/epp.js runs dist/', () => {
    const copies = runtime.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies).toContain('--from=build /app/dist ./dist');
    expect(copies.some((c) => /\bsrc\b/.test(c))).toBe(false);
    const bin = readFileSync(`${ROOT}bin/epp.js`, 'utf8');
    expect(bin).toMatch(/existsSync\(`\$\{root\}src\/cli\/main\.ts`\)/);
    expect(bin).toContain("await import('../dist/cli/main.js')");
    const build = JSON.parse(readFileSync(`${ROOT}tsconfig.build.json`, 'utf8')) as { compilerOptions: { rootDir: string; outDir: string } };
    expect(build.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
  });

  it('copies only sources that exist in the repository and are not excluded by .dockerignore', () => {
    for (const i of instructions.filter((x) => x.op === 'COPY' && !x.args.startsWith('--from='))) {
      const sources = i.args.split(/\s+/).slice(0, -1);
      for (const s of sources) {
        expect(existsSync(`${ROOT}${s}`), `COPY ${s}`).toBe(true);
        expect(dockerignore, `COPY ${s} is excluded by .dockerignore`).not.toContain(s.replace(/^\.\//, '').replace(/\/$/, ''));
      }
    }
  });
});
