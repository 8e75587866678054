import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckDbEngine, type DuckDbEngine } from '../../functions/engine/duckdbEngine.js';
import { buildTableQuery, WINDOW_PERIODS } from '../../functions/engine/indicatorSql.js';
import { TABLES } from '../../functions/pipeline/catalog.js';
import { CONTRACT } from '../../functions/pipeline/contract.js';
import { periodRange } from '../../functions/pipeline/period.js';
import { csv, writeExports } from '../helpers/fixtures.js';

// Every table in three files over two partitions, so a per-indicator or per-month scan would show
// up as more than one scan operator in the plan.
function fixture(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const t of TABLES) {
    const header = CONTRACT[t].columns.map((c) => c.name).join(',');
    for (const [i, dt] of ['dt=2026-09-01', 'dt=2026-10-01', 'dt=2026-10-15'].entries()) {
      files[`${t}/${dt}/part-${i}.csv`] = csv(header);
    }
  }
  return files;
}

describe('a report scans each source table once for the whole window', () => {
  let engine: DuckDbEngine;
  beforeAll(async () => {
    engine = await openDuckDbEngine({ dataDir: writeExports(fixture()) });
  });
  afterAll(() => engine.close());

  it.each(TABLES)('%s: one CSV scan operator in the physical plan of the indicator query', async (table) => {
    const periods = periodRange('2026-10', 'UTC', WINDOW_PERIODS);
    const bounds = [...periods.map((p) => p.startMs), periods[periods.length - 1]!.endMs];
    const { sql } = buildTableQuery(table, { bounds, firstResponseSlaMs: 1, complaintSlaMs: 1 });
    const rows = await engine.query(`EXPLAIN ${sql}`);
    const plan = rows.map((r) => String(r['explain_value'])).join('\n');
    // Operator boxes are titled by a line holding only the operator name.
    const scans = plan.match(/│ +READ_CSV +│/g) ?? [];
    expect(scans).toHaveLength(1);
    // …and that one scan reads all three files of the table.
    expect(engine.files[table]).toHaveLength(3);
  });
});
