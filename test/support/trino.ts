/**
 * The local Trino for test files, as started by test/support/trinoGlobalSetup.ts:
 *
 *   const trino = trinoOrSkip();
 *   describe.skipIf(!trino)('on Trino', () => { ... trino!.url ... });
 *
 * or `describeTrino('on Trino', (trino) => { ... })`, which skips with the reason in the suite name.
 */
import { describe, inject } from 'vitest';
import type { ProvidedTrino, TestTrino } from './trinoContext.js';

export type { TestTrino } from './trinoContext.js';

function provided(): ProvidedTrino | undefined {
  return inject('trino') as ProvidedTrino | undefined;
}

/** The running local Trino, or null when the Trino suites are skipped (see trinoSkipReason()). */
export function trinoOrSkip(): TestTrino | null {
  const v = provided();
  return v && 'url' in v ? { url: v.url, catalog: v.catalog, warehouseDir: v.warehouseDir } : null;
}

/** Why there is no Trino (undefined when there is one). */
export function trinoSkipReason(): string | undefined {
  const v = provided();
  if (v === undefined) return 'the Trino global setup (test/support/trinoGlobalSetup.ts) did not run';
  return 'skip' in v ? v.skip : undefined;
}

/** A describe block that runs only with a local Trino; skipped (with the reason in its name) otherwise. */
export function describeTrino(name: string, body: (trino: TestTrino) => void): void {
  const trino = trinoOrSkip();
  // When skipped, the body is still collected (its tests are marked skipped), so it gets a placeholder.
  describe.skipIf(!trino)(trino ? name : `${name} (no Trino: ${trinoSkipReason()})`, () =>
    body(trino ?? { url: 'http://127.0.0.1:0', catalog: 'hive', warehouseDir: '' }),
  );
}
