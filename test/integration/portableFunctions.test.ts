/**
 * The documented list of portable functions (functions/engine/trinoCompat.ts), confirmed on both
 * engines: each example is evaluated by DuckDB (with the compatibility macros) and by a real
 * Trino, and must give the value the list says. So are the conversions a source mapping's
 * declared formats generate from them (functions/engine/mappings.ts): local date-times in an IANA
 * zone across DST changes, decimal commas, yes/no words; expected values computed by hand.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { QueryEngine } from '../../functions/engine/engine.js';
import { formattedSourceSelect, parseMapping } from '../../functions/engine/mappings.js';
import { sqlString } from '../../functions/engine/tableSql.js';
import { PORTABLE_FUNCTIONS } from '../../functions/engine/trinoCompat.js';
import { writeExports } from '../helpers/fixtures.js';
import { describeEngines, openEngine } from '../support/engines.js';

const EXAMPLES = PORTABLE_FUNCTIONS.flatMap((f) => f.examples.map(([sql, expected]) => [f.name, sql, expected] as const));

const MSK = '{ timestamp: dd.MM.yyyy HH:mm, timezone: Europe/Moscow }';
const BERLIN = '{ timestamp: dd.MM.yyyy HH:mm, timezone: Europe/Berlin }';
const NEW_YORK = '{ timestamp: dd.MM.yyyy HH:mm, timezone: America/New_York }';
const YES_NO = '{ bool: { true: [Да, 是], false: [Нет, 否] } }';

/** [format (YAML), foreign value, contract value]: the expected instants worked out by hand from the zones' rules. */
const FORMAT_CASES: [string, string | null, string | null][] = [
  // Moscow is UTC+3 all year; Shanghai UTC+8.
  [MSK, '02.11.2026 14:05', '2026-11-02T11:05:00.000Z'],
  [MSK, '01.11.2026 00:30', '2026-10-31T21:30:00.000Z'],
  ['{ timestamp: dd.MM.yyyy, timezone: Europe/Moscow }', '02.11.2026', '2026-11-01T21:00:00.000Z'],
  ['{ timestamp: yyyy/MM/dd HH:mm, timezone: Asia/Shanghai }', '2026/11/02 14:05', '2026-11-02T06:05:00.000Z'],
  ['{ timestamp: yyyy/MM/dd HH:mm:ss, timezone: Asia/Shanghai }', '2026/11/02 14:05:09', '2026-11-02T06:05:09.000Z'],
  ['{ timestamp: yyyy/M/d H:mm, timezone: Asia/Shanghai }', '2026/1/2 9:05', '2026-01-02T01:05:00.000Z'],
  ["{ timestamp: \"yyyy-MM-dd'T'HH:mm\" }", '2026-11-02T14:05', '2026-11-02T14:05:00.000Z'],
  // Berlin: CET (+1) until 2026-03-29 02:00, CEST (+2) until 2026-10-25 03:00, then CET.
  [BERLIN, '29.03.2026 01:30', '2026-03-29T00:30:00.000Z'],
  [BERLIN, '29.03.2026 02:30', '2026-03-29T01:30:00.000Z'], // skipped by the clocks: read as 03:30 CEST
  [BERLIN, '29.03.2026 03:30', '2026-03-29T01:30:00.000Z'],
  [BERLIN, '01.07.2026 12:00', '2026-07-01T10:00:00.000Z'],
  [BERLIN, '25.10.2026 01:59', '2026-10-24T23:59:00.000Z'],
  [BERLIN, '25.10.2026 02:30', '2026-10-25T00:30:00.000Z'], // lived twice: the first, 02:30 CEST
  [BERLIN, '25.10.2026 03:30', '2026-10-25T02:30:00.000Z'],
  // New York: EST (-5) to EDT (-4) on 2026-03-08 at 02:00, back on 2026-11-01 at 02:00.
  [NEW_YORK, '08.03.2026 02:30', '2026-03-08T07:30:00.000Z'],
  [NEW_YORK, '01.11.2026 01:30', '2026-11-01T05:30:00.000Z'],
  [NEW_YORK, '01.11.2026 02:30', '2026-11-01T07:30:00.000Z'],
  // Not a date-time of the pattern: passed on unchanged, for the contract's validation to count.
  [MSK, '31.11.2026 10:00', '31.11.2026 10:00'],
  [MSK, '02.11.2026 24:00', '02.11.2026 24:00'],
  [MSK, '2026-11-02 14:05', '2026-11-02 14:05'],
  [MSK, '', ''],
  [MSK, null, null],
  ['{ decimal: "," }', '1 234,50', '1234.50'],
  ['{ decimal: "," }', '15\u00a0000', '15000'],
  ['{ decimal: "," }', '-12,5', '-12.5'],
  ['{ decimal: "," }', '1.234,5', '1.234,5'],
  [YES_NO, 'Да', 'true'],
  [YES_NO, 'ДА', 'true'],
  [YES_NO, 'нет', 'false'],
  [YES_NO, '是', 'true'],
  [YES_NO, '否', 'false'],
  [YES_NO, 'может быть', 'может быть'],
];

/** The SELECT a mapping source with `format` on its column `v` gives over one value. */
function formatSql(format: string, value: string | null): string {
  const m = parseMapping(`sources:\n  s:\n    path: s.csv\n    formats:\n      v: ${format}\ntables:\n  tickets: SELECT 1 FROM s\n`, 'case.yaml');
  return formattedSourceSelect(m, 's', ['v'], `SELECT CAST(${value === null ? 'NULL' : sqlString(value)} AS varchar) AS v`);
}

it('every portable function documents at least one example', () => {
  const without = PORTABLE_FUNCTIONS.filter((f) => f.examples.length === 0).map((f) => f.name);

  expect(without).toEqual([]);
});

describeEngines('portable functions behave as documented', (engineName) => {
  let engine: QueryEngine;
  beforeAll(async () => {
    // The queries read no table; one empty table makes a valid export folder.
    engine = await openEngine(engineName, writeExports({ 'tickets/empty.csv': 'ticket_id,created_at,updated_at\n' }));
  });
  afterAll(() => engine.close());

  it.each(EXAMPLES)('%s: %s = %j', async (_name, sql, expected) => {
    const [row] = await engine.query(`SELECT ${sql} AS v`);

    expect(row!['v']).toEqual(expected);
  });

  it.each(FORMAT_CASES)('mapping format %s reads %j as %j', async (format, value, expected) => {
    const sql = formatSql(format, value);

    const [row] = await engine.query(`SELECT v FROM (${sql}) AS t`);

    expect(row!['v']).toBe(expected);
  });
});
