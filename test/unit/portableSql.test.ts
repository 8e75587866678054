import { describe, expect, it } from 'vitest';
import { PORTABLE_FUNCTION_NAMES, functionsCalled } from '../../functions/engine/trinoCompat.js';
import { loadMapping } from '../../functions/engine/mappings.js';
import { readdirSync } from 'node:fs';
import { WINDOW_PERIODS, buildTableQuery } from '../../functions/metrics/plan.js';
import { TABLES } from '../../functions/pipeline/contract.js';

const ctx = {
  bounds: Array.from({ length: WINDOW_PERIODS + 1 }, (_, i) => 1_700_000_000_000 + i * 2_600_000_000),
  firstResponseSlaMs: 8 * 3_600_000,
  complaintSlaMs: 72 * 3_600_000,
};

describe('one SQL text, two engines', () => {
  it('finds the functions a SQL text calls, ignoring keywords, strings and comments', () => {
    const called = functionsCalled(`SELECT date_diff('day', a, b), CAST(x AS int), 'now()' -- approx_percentile(x)
      FROM t WHERE y IN (1) AND try(z) OVER (PARTITION BY k)`);
    expect([...called].sort()).toEqual(['date_diff', 'try']);
  });

  it.each(TABLES)('the %s query calls only functions whose semantics agree on Trino and DuckDB', (table) => {
    const { sql } = buildTableQuery(table, ctx);
    const outside = [...functionsCalled(sql)].filter((f) => !PORTABLE_FUNCTION_NAMES.has(f));
    expect(outside).toEqual([]);
  });

  it('every shipped source mapping calls only portable functions', () => {
    const files = readdirSync('config/mappings').filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const m = loadMapping(`config/mappings/${f}`);
      for (const [table, sql] of Object.entries(m.tables)) {
        const outside = [...functionsCalled(sql!)].filter((fn) => !PORTABLE_FUNCTION_NAMES.has(fn));
        expect({ file: f, table, outside }).toEqual({ file: f, table, outside: [] });
      }
    }
  });

  it('the checker would catch a function outside the list', () => {
    const outside = [...functionsCalled('SELECT approx_percentile(x, 0.5), date_diff(a, b) FROM t')].filter(
      (f) => !PORTABLE_FUNCTION_NAMES.has(f),
    );
    expect(outside.sort()).toEqual(['approx_percentile', 'date_diff']);
  });
});
