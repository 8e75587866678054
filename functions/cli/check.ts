/**
 * npm run check -- --data DIR [--mapping FILE] [--period YYYY-MM] [--timezone IANA] [--report ID]
 *
 * The import and the data gate alone, nothing rendered or written: what would be read (the files
 * of each table), what the reader detected (encoding, separator: its own log lines), what was
 * rejected, by reason, with examples (file, line, column, value), and whether the report would be
 * held, with every reason. Exit code 0 when the report would pass, 5 when it would be held (the
 * code `npm run report` ends with), 1 on bad input.
 *
 * The counts are the metrics job's own (one pass, metrics.json's dataQuality). The examples come
 * from a second query per table that has rejections, only on this command: the same record stages
 * (engine/tableSql.ts) over each export file with its name and row number carried along, keeping
 * the first rows of each reason.
 */
import { createReadStream } from 'node:fs';
import { relative, resolve } from 'node:path';
import { createGunzip } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { canonicalSelect } from '../engine/exportReader.js';
import type { DuckDbEngine } from '../engine/duckdbEngine.js';
import type { QueryEngine, SqlRow } from '../engine/engine.js';
import { loadMapping } from '../engine/mappings.js';
import { quoteIdent, recordStages, sqlString, STATUS, STATUS_NAMES } from '../engine/tableSql.js';
import { CONTRACT, EXPECTATION_SCALE, REJECT_REASONS, SERVQUAL_DIMENSIONS, SURVEY_SCALES, TABLES, type RejectReason, type TableName } from '../pipeline/contract.js';
import { gateSummary, rejectedRows } from '../metrics/gate.js';
import { computeMetricsJob, DEFAULTS, EXIT_HELD, runCli, type MetricsJobOptions } from './runMetrics.js';

/** Examples kept per table and reason. */
export const EXAMPLES_PER_REASON = 3;

export interface RejectExample {
  reason: RejectReason;
  /** The export file, relative to the data folder; null for a table read through a source mapping. */
  file: string | null;
  /** The data row within the file, 1 = the first row after the header; null through a mapping. */
  row: number | null;
  /** The line of the file the row starts on (CSV files in a single-byte-compatible encoding), else null. */
  line: number | null;
  /** The record's key (null when the key is what is missing). */
  key: string | null;
  /** The column that broke the rule, and its value as written ('' when empty). */
  column: string;
  value: string;
}

const RAW = (c: string) => `__raw_${c}`;

/** The column (and its raw value) that made the contract reject a row for `reason`. */
function culprit(table: TableName, reason: RejectReason, row: SqlRow): { column: string; value: string } {
  const t = CONTRACT[table];
  const raw = (c: string) => (row[RAW(c)] === null || row[RAW(c)] === undefined ? '' : String(row[RAW(c)]));
  const parsed = (c: string) => row[c];
  const num = (c: string) => (typeof parsed(c) === 'number' ? (parsed(c) as number) : null);
  const first = (cols: string[]) => cols[0] ?? t.key;
  switch (reason) {
    case 'missing_key':
      return { column: t.key, value: raw(t.key) };
    case 'bad_updated_at':
      return { column: 'updated_at', value: raw('updated_at') };
    case 'bad_value': {
      const c = first(t.columns.filter((c) => c.type !== 'string' && raw(c.name).trim() !== '' && parsed(c.name) === null).map((c) => c.name));
      return { column: c, value: raw(c) };
    }
    case 'missing_required': {
      const c = first(t.columns.filter((c) => c.required && parsed(c.name) === null).map((c) => c.name));
      return { column: c, value: raw(c) };
    }
    case 'out_of_range': {
      // The contract's ranges (contract.ts), in the order tableSql.ts checks them.
      const below = t.columns.filter((c) => c.min !== undefined && num(c.name) !== null && num(c.name)! < c.min!).map((c) => c.name);
      if (table === 'surveys') {
        const type = String(parsed('survey_type') ?? '');
        const scale = (SURVEY_SCALES as Record<string, readonly [number, number]>)[type];
        if (!scale) below.push('survey_type');
        else if (num('score') !== null && (num('score')! < scale[0] || num('score')! > scale[1])) below.push('score');
        if (num('expectation') !== null && (num('expectation')! < EXPECTATION_SCALE[0] || num('expectation')! > EXPECTATION_SCALE[1])) below.push('expectation');
        if (type === 'servqual' && !(SERVQUAL_DIMENSIONS as readonly string[]).includes(String(parsed('dimension') ?? ''))) below.push('dimension');
      }
      const c = first(below);
      return { column: c, value: raw(c) };
    }
    case 'inconsistent_times': {
      const pair = t.order.find(([later, earlier]) => num(later) !== null && num(earlier) !== null && num(later)! < num(earlier)!);
      return pair ? { column: pair[0], value: `${raw(pair[0])} (before ${pair[1]} ${raw(pair[1])})` } : { column: t.key, value: '' };
    }
  }
}

/**
 * The first rejected rows of each reason in `table`: its export files (each with its name and row
 * number) through the same record stages as the metrics, or the mapped table as the engine has it.
 */
export async function rejectExamples(engine: DuckDbEngine, table: TableName, dataDir: string, mapped: boolean, perReason = EXAMPLES_PER_REASON): Promise<RejectExample[]> {
  const cols = CONTRACT[table].columns.map((c) => c.name);
  const rawCopies = cols.map((c) => `${quoteIdent(c)} AS ${quoteIdent(RAW(c))}`).join(', ');
  let source: string;
  if (mapped) {
    source = `(SELECT *, CAST(NULL AS VARCHAR) AS __file, CAST(NULL AS BIGINT) AS __row, ${rawCopies} FROM ${quoteIdent(table)}) AS checked`;
  } else {
    const parts: string[] = [];
    for (const file of engine.files[table]) {
      const { select } = await canonicalSelect(engine.connection, table, [file], dataDir);
      if (!select) continue; // no rows
      // row_number() OVER () is DuckDB's streaming window: rows numbered in the order the file holds them.
      parts.push(`SELECT *, ${sqlString(relative(dataDir, file))} AS __file, row_number() OVER () AS __row, ${rawCopies} FROM (${select}) AS f`);
    }
    if (!parts.length) return [];
    source = `(${parts.join('\nUNION ALL\n')}) AS checked`;
  }
  const carry = ['__file', '__row', ...cols.map(RAW)];
  const rejected = `st NOT IN (${STATUS.ok}, ${STATUS.duplicate})`;
  const sql = `WITH ${recordStages(table, source, carry)},
picked AS (SELECT rec.*, row_number() OVER (PARTITION BY st ORDER BY __file, __row, k) AS __n FROM rec WHERE ${rejected})
SELECT * FROM picked WHERE __n <= ${perReason} ORDER BY st, __n`;
  const rows = await engine.query(sql, `${table} rejected rows`);
  const lines = new Map<string, Map<number, number>>();
  for (const file of new Set(rows.map((r) => r['__file']).filter((f): f is string => typeof f === 'string'))) {
    lines.set(file, await csvRowLines(resolve(dataDir, file), rows.filter((r) => r['__file'] === file).map((r) => Number(r['__row']))));
  }
  return rows.map((row) => {
    const reason = STATUS_NAMES[Number(row['st'])] as RejectReason;
    const file = row['__file'] === null ? null : String(row['__file']);
    const n = row['__row'] === null ? null : Number(row['__row']);
    return {
      reason,
      file,
      row: n,
      line: file !== null && n !== null ? (lines.get(file)?.get(n) ?? null) : null,
      key: row['k'] === null ? null : String(row['k']),
      ...culprit(table, reason, row),
    };
  });
}

/**
 * The line each of `rows` (data rows, 1 = the first after the header) starts on in a CSV file
 * (.csv or .csv.gz): records are counted as the reader counts them, a quoted field may span lines,
 * empty lines are skipped, the header is the first line that is not blank. Empty for a file whose
 * text is not byte-compatible with ASCII (UTF-16) or that is not CSV: the row number stands alone.
 */
export async function csvRowLines(file: string, rows: number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const lower = file.toLowerCase();
  if (!rows.length || !(lower.endsWith('.csv') || lower.endsWith('.csv.gz'))) return out;
  const wanted = new Set(rows);
  const last = Math.max(...rows);
  const input = createReadStream(file);
  const stream = lower.endsWith('.gz') ? input.pipe(createGunzip()) : input;
  let line = 1;
  let inQuotes = false;
  let started = false; // a record has started on this line (or continues on it, inside quotes)
  let record = -1; // -1 before the header, 0 the header, then data rows
  let first = true;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (first && (chunk[0] === 0xff || chunk[0] === 0xfe || chunk.subarray(0, 64).includes(0))) return out; // UTF-16
      first = false;
      for (const b of chunk) {
        if (b === 0x0a) {
          line++;
          if (!inQuotes) started = false;
          continue;
        }
        if (b === 0x0d) continue;
        if (b === 0x22) inQuotes = !inQuotes;
        // A record starts at the first byte of a line outside quotes; the header at the first line with text.
        if (!started && (record >= 0 || b > 0x20)) {
          started = true;
          record++;
          if (wanted.has(record)) out.set(record, line);
          if (record >= last) return out;
        }
      }
    }
  } finally {
    input.destroy();
  }
  return out;
}

/** One line per example: `tickets/dt=2026-10-01/a.csv line 8 (row 7), column created_at: "05.10.2026 14:03"`. */
export function describeExample(e: RejectExample): string {
  const at = e.line !== null ? `line ${e.line} (row ${e.row})` : `row ${e.row}`;
  const where = e.file !== null ? `${e.file} ${at}` : `key ${e.key === null ? '(none)' : JSON.stringify(e.key)} (through the mapping)`;
  return `${where}, column ${e.column}: ${e.value === '' ? '(empty)' : JSON.stringify(e.value)}`;
}

export interface CheckResult {
  lines: string[];
  held: boolean;
}

export async function runCheck(o: MetricsJobOptions): Promise<CheckResult> {
  const lines: string[] = [];
  const say = (l: string) => lines.push(l);
  const examples: Partial<Record<TableName, RejectExample[]>> = {};
  let files: Partial<Record<TableName, string[]>> = {};
  const dataDir = resolve(o.data ?? DEFAULTS.sampleDir);
  const mapping = o.mapping ? loadMapping(o.mapping) : undefined;
  const { metrics } = await computeMetricsJob({ ...o, engine: 'duckdb', log: (l) => (o.log ?? say)(l) }, async (engine: QueryEngine, job) => {
    const duck = engine as DuckDbEngine;
    files = duck.files;
    for (const table of TABLES) {
      if (rejectedRows(job.metrics.dataQuality[table]) === 0) continue;
      examples[table] = await rejectExamples(duck, table, dataDir, Boolean(mapping?.tables[table]));
    }
  });
  const gate = metrics.gate!;
  say(`${metrics.reportId} ${metrics.period.id} (${metrics.period.timezone}), data ${o.data ?? DEFAULTS.sampleDir}`);
  say('read:');
  for (const table of TABLES) {
    const list = files[table] ?? [];
    const shown = list.slice(0, 5).map((f) => relative(dataDir, f));
    say(`  ${table}: ${list.length ? `${list.length} file${list.length === 1 ? '' : 's'}: ${shown.join(', ')}${list.length > shown.length ? `, … (${list.length - shown.length} more)` : ''}` : 'no files'}`);
  }
  say('rejected:');
  let any = false;
  for (const table of TABLES) {
    const q = metrics.dataQuality[table];
    for (const reason of REJECT_REASONS) {
      const n = q.rejected[reason];
      if (!n) continue;
      any = true;
      say(`  ${table} ${reason}: ${n} row${n === 1 ? '' : 's'}`);
      for (const e of (examples[table] ?? []).filter((x) => x.reason === reason)) say(`    ${describeExample(e)}`);
    }
  }
  if (!any) say('  none');
  for (const l of gateSummary(metrics, gate)) say(l);
  return { lines, held: gate.held };
}

export function checkCommand(): Command {
  return new Command('check')
    .description('Import the exports and run the data gate alone: what is read, detected, rejected (with examples) and held. Writes nothing.')
    .option('--data <dir>', 'folder of CRM exports (default: generated sample data)')
    .option('--mapping <file>', 'source mapping for a foreign export (config/mappings/*.yaml)')
    .option('--period <YYYY-MM>', "report month (default: the last closed month in the report's time zone)")
    .option('--timezone <IANA>', "time zone of the period (default: the report's)")
    .option('--report <id>', 'report id in config/reports.yaml (default: the first)')
    .option('--reports <file>', 'report definitions file', DEFAULTS.reports)
    .option('--targets <file>', 'targets file', DEFAULTS.targets);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await runCli(async () => {
    const o = checkCommand().parse(process.argv).opts<MetricsJobOptions>();
    const { lines, held } = await runCheck({ ...o, log: (l) => process.stdout.write(`${l}\n`) });
    process.stdout.write(`${lines.join('\n')}\n`);
    if (held) process.exitCode = EXIT_HELD;
  });
}
