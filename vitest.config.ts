import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    restoreMocks: true,
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Integration tests bind real sockets; two cores, so keep parallelism modest.
    pool: 'forks',
    maxWorkers: 2,
  },
});
