/**
 * Running one suite on every engine: embedded DuckDB over an export folder, and the local Trino
 * over the same folder normalized as the AWS ingest does it (the same SQL text on both).
 */
import { describe } from 'vitest';
import type { QueryEngine } from '../../functions/engine/engine.js';
import { openDuckDbEngine } from '../../functions/engine/duckdbEngine.js';
import { loadExportsIntoTrino } from '../../functions/engine/trinoLocalData.js';
import { trinoOrSkip } from './trino.js';

export type EngineName = 'duckdb' | 'trino';

/**
 * The suite `fn` once per engine, as `duckdb: name` and `trino: name`. The Trino run is skipped
 * (with the reason printed once by the test setup) only where no local Trino could be started.
 */
export function describeEngines(name: string, fn: (engine: EngineName) => void): void {
  describe(`duckdb: ${name}`, () => fn('duckdb'));
  describe.skipIf(!trinoOrSkip())(`trino: ${name}`, () => fn('trino'));
}

/** Opens `engine` over the export folder `root`. */
export async function openEngine(engine: EngineName, root: string): Promise<QueryEngine> {
  if (engine === 'duckdb') return openDuckDbEngine({ dataDir: root });
  const trino = trinoOrSkip();
  if (!trino) throw new Error('no local Trino: this suite should have been skipped');
  return loadExportsIntoTrino({ trino, dataDir: root });
}
