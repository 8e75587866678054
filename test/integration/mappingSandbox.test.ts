/**
 * A source mapping is user input that the engine runs, so it is sandboxed (functions/engine/mappings.ts,
 * duckdbEngine.ts): each escape below is refused with one line naming the mapping file and what
 * is wrong, before anything is read or written, and the DuckDB session that runs a mapping cannot
 * reach files outside the data folder, install or load extensions, or change its settings.
 */
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMetricsJob } from '../../functions/cli/runMetrics.js';
import { openDuckDbEngine } from '../../functions/engine/duckdbEngine.js';
import { loadMapping } from '../../functions/engine/mappings.js';
import { writeExports } from '../helpers/fixtures.js';

const CALLS = 'id,created\nc1,2026-11-02T10:00:00Z\nc2,2026-11-03T11:00:00Z\n';
const GOOD_SELECT = 'SELECT id AS ticket_id, created AS created_at, created AS updated_at FROM calls';

/** A mapping file (in a folder of its own, not under the data) with the given YAML body. */
function mappingFile(body: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'mapping-')), 'crm.yaml');
  writeFileSync(file, body);
  return file;
}

/** A mapping of one source `calls` and one table `tickets` given as a block of SQL lines. */
const withTickets = (sql: string, sources = 'calls: calls.csv') =>
  mappingFile(`description: sandbox case\nsources:\n  ${sources}\ntables:\n  tickets: |\n${sql.split('\n').map((l) => `    ${l}`).join('\n')}\n`);

/** The one-line error a metrics run with `mapping` over `data` stops with. */
async function refusal(mapping: string, data = writeExports({ 'calls.csv': CALLS })): Promise<string> {
  const run = runMetricsJob({ data, mapping, period: '2026-11', timezone: 'UTC', out: mkdtempSync(join(tmpdir(), 'sandbox-out-')), allowIncomplete: true });
  const err = await run.then(
    () => new Error('the run succeeded'),
    (e: Error) => e,
  );
  expect(err.message, 'a single line').not.toContain('\n');
  return err.message;
}

describe('a mapping table is exactly one read-only SELECT', () => {
  it('refuses COPY … TO, and writes nothing', async () => {
    const leak = join(mkdtempSync(join(tmpdir(), 'leak-')), 'leak.csv');
    const file = withTickets(`COPY (SELECT 1 AS ticket_id) TO '${leak}'`);

    const message = await refusal(file);

    expect(message).toBe(`${file}: tables.tickets: must be one read-only SELECT (or WITH … SELECT): COPY, ATTACH, CREATE, INSTALL, LOAD, SET, PRAGMA are refused`);
    expect(existsSync(leak)).toBe(false);
  });

  it('refuses ATTACH, CREATE TABLE, INSTALL httpfs, LOAD, SET and PRAGMA', async () => {
    const statements = ["ATTACH '/tmp/other.duckdb' AS other", 'CREATE TABLE stolen AS SELECT 1 AS x', 'INSTALL httpfs', 'LOAD httpfs', 'SET enable_external_access = true', 'PRAGMA database_list'];
    for (const sql of statements) {
      const file = withTickets(sql);

      expect(await refusal(file), sql).toBe(`${file}: tables.tickets: must be one read-only SELECT (or WITH … SELECT): COPY, ATTACH, CREATE, INSTALL, LOAD, SET, PRAGMA are refused`);
    }
  });

  it('refuses a second statement after the SELECT (a COPY hidden behind a ";"), and writes nothing', async () => {
    const leak = join(mkdtempSync(join(tmpdir(), 'leak-')), 'leak.csv');
    const file = withTickets(`${GOOD_SELECT};\nCOPY calls TO '${leak}'`);

    const message = await refusal(file);

    expect(message).toBe(`${file}: tables.tickets: 2 statements: a mapping table is exactly one read-only SELECT (no ";" between statements)`);
    expect(existsSync(leak)).toBe(false);
  });

  it("refuses read_csv('/etc/passwd'), naming the function and its line in the mapping file", async () => {
    // Line 1 description, 2 sources:, 3 the source, 4 tables:, 5 tickets: |, 6 SELECT, 7 the call.
    const file = withTickets("SELECT *\nFROM read_csv('/etc/passwd')");

    expect(await refusal(file)).toBe(`${file}: tables.tickets: line 7: read_csv() is not a portable function (the list: functions/engine/trinoCompat.ts)`);
  });

  it('refuses reading a file or table that is not a declared source (no function involved)', async () => {
    const byPath = withTickets("SELECT *\nFROM '/etc/passwd'");
    const bySchema = withTickets('SELECT table_name AS ticket_id\nFROM calls\nJOIN information_schema.tables ON true');

    expect(await refusal(byPath)).toBe(`${byPath}: tables.tickets: line 7: reads /etc/passwd, which is not a declared source (calls)`);
    expect(await refusal(bySchema)).toBe(`${bySchema}: tables.tickets: line 8: reads information_schema.tables, which is not a declared source (calls)`);
    // A WITH name spelled like the path, in another scope, does not make the path a WITH name.
    const shadow = withTickets('SELECT *\nFROM (WITH "/etc/passwd" AS (SELECT 1 AS x) SELECT * FROM "/etc/passwd") AS a,\n  "/etc/passwd"');
    expect(await refusal(shadow)).toBe(`${shadow}: tables.tickets: line 7: reads /etc/passwd, which is not a declared source (calls)`);
  });

  it('refuses a function outside the portable list, naming file, table, function and line', async () => {
    const file = withTickets("SELECT id AS ticket_id,\n  created AS created_at,\n  date_add('day', 1, created) AS updated_at\nFROM calls");

    expect(await refusal(file)).toBe(`${file}: tables.tickets: line 8: date_add() is not a portable function (the list: functions/engine/trinoCompat.ts)`);
  });

  it('lets WITH … SELECT over the declared sources through', async () => {
    const file = withTickets(`WITH c AS (SELECT * FROM calls)\nSELECT id AS ticket_id, created AS created_at, created AS updated_at FROM c`);

    const { metrics } = await runMetricsJob({ data: writeExports({ 'calls.csv': CALLS }), mapping: file, period: '2026-11', timezone: 'UTC', out: mkdtempSync(join(tmpdir(), 'sandbox-out-')), allowIncomplete: true });

    expect(metrics.indicators['ticket_volume']!.value).toBe(2);
  });
});

describe('sources resolve inside --data only', () => {
  it('refuses `..` climbing out of the data folder', async () => {
    const file = withTickets(GOOD_SELECT, 'calls: ../../..');

    expect(await refusal(file)).toBe(`${file}: sources.calls: ../../.. climbs out of the data folder with ..: refused`);
  });

  it('refuses an absolute source path, in either form', async () => {
    const bare = withTickets(GOOD_SELECT, 'calls: /etc/passwd');
    const object = withTickets(GOOD_SELECT, 'calls: { path: /etc/passwd, delimiter: ";" }');

    expect(await refusal(bare)).toBe(`${bare}: sources.calls: /etc/passwd must be relative to the data folder (--data): an absolute path is refused`);
    expect(await refusal(object)).toContain(`${object}: `);
    expect(await refusal(object)).toContain('sources.calls.path: /etc/passwd must be relative to the data folder (--data): an absolute path is refused');
  });

  it('refuses a symbolic link leading out of the data folder, as the source or inside a source folder', async () => {
    const outside = writeExports({ 'secret.csv': CALLS });
    const data = writeExports({ 'calls/ok.csv': CALLS });
    symlinkSync(join(outside, 'secret.csv'), join(data, 'linked.csv'));
    symlinkSync(join(outside, 'secret.csv'), join(data, 'calls', 'linked.csv'));
    const asSource = withTickets(GOOD_SELECT, 'calls: linked.csv');
    const inFolder = withTickets(GOOD_SELECT, 'calls: calls');

    expect(await refusal(asSource, data)).toBe(`${asSource}: sources.calls: linked.csv leads out of the data folder (a symbolic link to ${join(outside, 'secret.csv')})`);
    expect(await refusal(inFolder, data)).toBe(`${inFolder}: sources.calls: calls/linked.csv leads out of the data folder (a symbolic link to ${join(outside, 'secret.csv')})`);
  });

  it('follows a symbolic link that stays inside the data folder', async () => {
    const data = writeExports({ 'archive/calls.csv': CALLS });
    symlinkSync(join(data, 'archive', 'calls.csv'), join(data, 'calls.csv'));

    const { metrics } = await runMetricsJob({ data, mapping: withTickets(GOOD_SELECT), period: '2026-11', timezone: 'UTC', out: mkdtempSync(join(tmpdir(), 'sandbox-out-')), allowIncomplete: true });

    expect(metrics.indicators['ticket_volume']!.value).toBe(2);
  });
});

describe('declared formats are checked when the mapping is loaded', () => {
  const withFormat = (format: string) => withTickets(GOOD_SELECT, `calls:\n    path: calls.csv\n    formats:\n      created: ${format}`);

  it('names the file and the field of an unknown pattern letter, an unknown zone, a format of nothing', () => {
    const cases: [string, string][] = [
      ['{ timestamp: dd.MM.YYYY HH:mm }', 'sources.calls.formats.created.timestamp: unknown field "YYYY" in "dd.MM.YYYY HH:mm" (use yyyy, MM or M, dd or d, HH or H, mm, ss; quote literal letters)'],
      ['{ timestamp: dd.MM.yyyy mm }', 'sources.calls.formats.created.timestamp: "dd.MM.yyyy mm" has minutes but no hours (HH)'],
      ['{ timestamp: dd.MM.yyyy HH:mm, timezone: Europe/Moskva }', 'sources.calls.formats.created.timezone: unknown IANA time zone (e.g. Europe/Moscow, Asia/Shanghai)'],
      ['{ decimal: "." }', 'sources.calls.formats.created.decimal: the decimal separator: "," (a dot needs no format)'],
      ['{ timezone: UTC }', 'sources.calls.formats.created: give exactly one of timestamp, decimal, bool (found none)'],
    ];
    for (const [format, problem] of cases) {
      const file = withFormat(format);

      expect(() => loadMapping(file), format).toThrow(problem);
      expect(() => loadMapping(file), format).toThrow(`${file}: `);
    }
  });

  it('names the file and the field of an unknown encoding or separator, and of a column given two formats', () => {
    const cases: [string, string][] = [
      ['calls: { path: calls.csv, encoding: koi8-r }', 'sources.calls.encoding: unknown encoding (known: UTF-8, UTF-16LE, UTF-16BE, GB18030, Windows-1251)'],
      ['calls: { path: calls.csv, delimiter: ":" }', 'sources.calls.delimiter: unknown delimiter (known: , ; tab |)'],
      ['calls: { path: calls.csv, formats: { Created: { decimal: "," }, created: { decimal: "," } } }', 'sources.calls.formats.created: a second format for this column (names match in any case)'],
    ];
    for (const [source, problem] of cases) {
      const file = withTickets(GOOD_SELECT, source);

      expect(() => loadMapping(file), source).toThrow(`${file}: ${problem}`);
    }
  });

  it('names a format of a column the source does not have when it is run', async () => {
    const file = withTickets(GOOD_SELECT, 'calls:\n    path: calls.csv\n    formats:\n      closed: { timestamp: dd.MM.yyyy }');

    expect(await refusal(file)).toBe(`${file}: sources.calls.formats.closed: the source has no such column (it has id, created)`);
  });
});

describe('the DuckDB session that runs a mapping is locked down', () => {
  it('reaches no file outside the data folder, installs and loads no extension, changes no setting; the mapped tables still read', async () => {
    const data = writeExports({ 'calls.csv': CALLS });
    const elsewhere = mkdtempSync(join(tmpdir(), 'elsewhere-'));
    mkdirSync(join(elsewhere, 'sub'));
    const engine = await openDuckDbEngine({ dataDir: data, mapping: loadMapping(withTickets(GOOD_SELECT)) });
    try {
      const conn = engine.connection;

      await expect(conn.run("SELECT * FROM read_csv('/etc/passwd')")).rejects.toThrow(/Permission Error/);
      await expect(conn.run(`COPY (SELECT 1) TO '${join(elsewhere, 'sub', 'x.csv')}'`)).rejects.toThrow(/Permission Error/);
      await expect(conn.run(`ATTACH '${join(elsewhere, 'x.duckdb')}' AS x`)).rejects.toThrow(/Permission Error/);
      await expect(conn.run('INSTALL httpfs')).rejects.toThrow(/Permission Error/);
      await expect(conn.run('LOAD httpfs')).rejects.toThrow(/Permission Error/);
      await expect(conn.run('SET enable_external_access = true')).rejects.toThrow(/configuration has been locked/);
      await expect(conn.run("SET allowed_directories = ['/']")).rejects.toThrow(/locked|Cannot change/);
      expect(existsSync(join(elsewhere, 'sub', 'x.csv'))).toBe(false);
      const rows = await engine.query('SELECT count(*) AS n FROM tickets');
      expect(rows[0]!['n']).toBe(2);
    } finally {
      await engine.close();
    }
  });
});
