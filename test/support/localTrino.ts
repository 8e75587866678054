/**
 * The local Trino the test setup started (test/support/trinoGlobalSetup.ts), or null when the
 * Trino suites are skipped on this machine (the setup printed why).
 */
import { inject } from 'vitest';
import type { LocalTrinoCatalog } from '../../functions/engine/trinoLocalData.js';

export function localTrino(): LocalTrinoCatalog | null {
  const env = process.env;
  if (env['TRINO_TEST_URL'] && env['TRINO_TEST_WAREHOUSE']) {
    return { url: env['TRINO_TEST_URL'], catalog: 'hive', warehouseDir: env['TRINO_TEST_WAREHOUSE'] };
  }
  const provided = inject('trino' as never) as unknown as (LocalTrinoCatalog | { skip: string } | undefined);
  return provided && 'url' in provided ? provided : null;
}
