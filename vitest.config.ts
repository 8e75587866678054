import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Starts the local Trino once per run (or skips the Trino suites, saying why): see the file.
    globalSetup: ['test/support/trinoGlobalSetup.ts'],
    // On CI also write a JSON summary, from which .ci/run prints a plain "N passed, N failed" line.
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: 'out/test-results.json' },
  },
});
