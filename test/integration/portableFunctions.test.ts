/**
 * The documented list of portable functions (functions/engine/trinoCompat.ts), confirmed on both
 * engines: each example is evaluated by DuckDB (with the compatibility macros) and by a real
 * Trino, and must give the value the list says.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { QueryEngine } from '../../functions/engine/engine.js';
import { PORTABLE_FUNCTIONS } from '../../functions/engine/trinoCompat.js';
import { writeExports } from '../helpers/fixtures.js';
import { describeEngines, openEngine } from '../support/engines.js';

const EXAMPLES = PORTABLE_FUNCTIONS.flatMap((f) => f.examples.map(([sql, expected]) => [f.name, sql, expected] as const));

it('every portable function documents at least one example', () => {
  const without = PORTABLE_FUNCTIONS.filter((f) => f.examples.length === 0).map((f) => f.name);

  expect(without).toEqual([]);
});

describeEngines('portable functions behave as documented', (engineName) => {
  let engine: QueryEngine;
  beforeAll(async () => {
    engine = await openEngine(engineName, writeExports({}));
  });
  afterAll(() => engine.close());

  it.each(EXAMPLES)('%s: %s = %j', async (_name, sql, expected) => {
    const [row] = await engine.query(`SELECT ${sql} AS v`);

    expect(row!['v']).toEqual(expected);
  });
});
