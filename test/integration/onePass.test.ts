import { afterAll, beforeAll, expect, it } from 'vitest';
import type { QueryEngine } from '../../functions/engine/engine.js';
import { CONTRACT, TABLES, type TableName } from '../../functions/pipeline/contract.js';
import { periodRange } from '../../functions/pipeline/period.js';
import { csv, writeExports } from '../helpers/fixtures.js';
import { describeEngines, openEngine } from '../support/engines.js';
import { WINDOW_PERIODS, buildTableQuery } from '../../functions/metrics/plan.js';

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

function tableSql(table: TableName): string {
  const periods = periodRange('2026-10', 'UTC', WINDOW_PERIODS);
  const bounds = [...periods.map((p) => p.startMs), periods[periods.length - 1]!.endMs];
  return buildTableQuery(table, { bounds, firstResponseSlaMs: 1, complaintSlaMs: 1 }).sql;
}

/** The scan operators of a plan: DuckDB draws boxes titled by the operator; Trino names the table it scans. */
const SCANS = {
  duckdb: (plan: string, _table: TableName) => plan.match(/│ +READ_CSV +│/g) ?? [],
  trino: (plan: string, table: TableName) => plan.match(new RegExp(`table = [^:\\]]+:[^:\\]]+:${table}\\b`, 'g')) ?? [],
};

describeEngines('a report scans each source table once for the whole window', (engineName) => {
  let engine: QueryEngine;
  beforeAll(async () => {
    engine = await openEngine(engineName, writeExports(fixture()));
  });
  afterAll(() => engine.close());

  it.each(TABLES)('%s: one scan of the table (all three files) in the plan of the indicator query', async (table) => {
    const rows = await engine.query(`EXPLAIN ${tableSql(table)}`);
    const plan = rows.map((r) => Object.values(r).map(String).join('\n')).join('\n');

    const scans = SCANS[engineName](plan, table);

    expect(scans).toHaveLength(1);
  });
});
