import { describe, expect, it } from 'vitest';
import { functionCalls, functionsCalled, nonPortableCalls } from '../../functions/engine/trinoCompat.js';
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

  it('gives each call its line, past multi-line strings and comments', () => {
    const calls = functionCalls("SELECT lower(a),\n  'two\nlines', /* a(\n b( */ x\n  -- c(d)\nFROM t WHERE regexp_like(\"q(\", 'x')");
    expect(calls).toEqual([
      { name: 'lower', line: 1 },
      { name: 'regexp_like', line: 6 },
    ]);
  });

  it.each(TABLES)('the %s query calls only functions whose semantics agree on Trino and DuckDB', (table) => {
    const { sql } = buildTableQuery(table, ctx);
    expect(nonPortableCalls(sql)).toEqual([]);
  });

  it('every shipped source mapping calls only portable functions', () => {
    const files = readdirSync('config/mappings').filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const m = loadMapping(`config/mappings/${f}`);
      for (const [table, sql] of Object.entries(m.tables)) {
        expect({ file: f, table, outside: nonPortableCalls(sql!) }).toEqual({ file: f, table, outside: [] });
      }
    }
  });

  it('the checker would catch a function outside the list', () => {
    const outside = nonPortableCalls('SELECT approx_percentile(x, 0.5),\n  date_diff(a, b) FROM t');
    expect(outside).toEqual([
      { name: 'approx_percentile', line: 1 },
      { name: 'date_diff', line: 2 },
    ]);
  });
});
