/**
 * Vitest global setup: starts the local Trino once per test run (reusing one already running) and
 * provides it to the test files as `inject('trino')` (see ./trino.ts).
 *
 * Teardown: a server that a test run started is stopped when the run ends, unless another test
 * run (e.g. a second `npm test` in the same work tree) is still using it; then the last one to end
 * stops it. A server started with `npm run trino -- start` is left running.
 *
 * - TRINO_TESTS=0: do not start it; the Trino suites are skipped.
 * - Without CI, a missing prerequisite (Java 24+, Maven for the first download, the download
 *   itself) skips the Trino suites with one line on stderr. With CI=true every failure fails the run.
 */
import type { TestProject } from 'vitest/node';
import { releaseLocalTrino, startLocalTrino } from '../../functions/trino/localServer.js';
import type { ProvidedTrino } from './trinoContext.js';

function isCi(): boolean {
  const ci = process.env.CI?.toLowerCase();
  return ci !== undefined && ci !== '' && ci !== '0' && ci !== 'false';
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const provide = (value: ProvidedTrino) => project.provide('trino', value);
  const skip = (reason: string) => {
    process.stderr.write(`Trino suites skipped: ${reason}\n`);
    provide({ skip: reason });
    return async () => {};
  };

  if (process.env.TRINO_TESTS === '0') return skip('TRINO_TESTS=0');

  try {
    const trino = await startLocalTrino({ lease: true, log: (line) => process.stderr.write(`trino: ${line}\n`) });
    provide({ url: trino.url, catalog: trino.catalog, warehouseDir: trino.warehouseDir });
  } catch (e) {
    if (!isCi() && (e as Error).name === 'TrinoSetupError') return skip((e as Error).message);
    throw e;
  }
  return async () => {
    await releaseLocalTrino();
  };
}
