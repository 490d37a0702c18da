import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Installs helm for the chart tests when none is found (they fail, never skip, without it).
    globalSetup: ['test/deploy/helm-setup.ts'],
    restoreMocks: true,
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Integration tests bind real sockets; two cores, so keep parallelism modest.
    pool: 'forks',
    maxWorkers: 2,
  },
});
