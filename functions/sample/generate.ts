/**
 * Deterministic sample CRM exports for the seven canonical tables (docs/data-contract.md):
 * `<dir>/<table>/dt=YYYY-MM-DD/part-NNN.csv`, rows streamed to disk, the same options giving
 * byte-identical files. Default size (scale 1, 15 months): 40k tickets, 25k survey rows (12k CSAT,
 * 8k NPS, 1k SERVQUAL questionnaires of 5 rows), 30k orders, 30k invoices, 150 complaints, 6k
 * customers and 60k live contacts (calls, chats), plus the defects described in inject.ts. Row
 * counts scale with `scale` and with `months` / 15; `targetRows` picks the scale that gives about
 * that many rows in all.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONTRACT, TABLES, type TableDef, type TableName } from '../pipeline/contract.js';
import { contactsTable } from './contacts.js';
import { Context, DEFAULT_MONTHS, recordCounts } from './context.js';
import { convertFiles } from './convert.js';
import { customersTable } from './customers.js';
import { DUPLICATE, type DefectPlan, type Reason, type Val, breakTimeOrder, classify, corruptFields, planDefects } from './inject.js';
import { complaintsTable, invoicesTable, ordersTable } from './orders.js';
import { Rng } from './rng.js';
import { surveysTable } from './surveys.js';
import { type Rec, type TableGen, columnIndex } from './table.js';
import { ticketsTable } from './tickets.js';
import { ExportCalendar, Style, formatTs, parsePeriod, previousMonth } from './time.js';
import { PartitionedCsvWriter } from './writer.js';

export type SampleFormat = 'csv' | 'csv.gz' | 'parquet';

export interface SampleOptions {
  /** Last month of history, YYYY-MM; default the month before the current UTC month. */
  endPeriod?: string;
  /** Months of history; default 15. */
  months?: number;
  seed?: number;
  /** Multiplies row counts; default 1. Ignored when targetRows is set. */
  scale?: number;
  /** Total rows over the seven tables, approximately (for benchmarks). */
  targetRows?: number;
  format?: SampleFormat;
  onProgress?: (done: number, total: number) => void;
}

export interface SampleResult {
  rows: Record<TableName, number>;
}

export const MANIFEST = '_sample.json';
/** Bump when the generated content changes, so ensureSampleData regenerates old samples. */
export const GENERATOR_VERSION = 2;

interface Resolved {
  endPeriod: string;
  months: number;
  seed: number;
  scale: number;
  targetRows: number | null;
  format: SampleFormat;
}

function resolve(opts: SampleOptions): Resolved {
  const endPeriod = opts.endPeriod ?? previousMonth();
  parsePeriod(endPeriod);
  const months = opts.months ?? DEFAULT_MONTHS;
  if (!Number.isInteger(months) || months < 1) throw new Error(`months must be a positive integer, got ${months}`);
  const seed = opts.seed ?? 42;
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  const format = opts.format ?? 'csv';
  if (!['csv', 'csv.gz', 'parquet'].includes(format)) throw new Error(`unknown format "${format}"`);
  const targetRows = opts.targetRows ?? null;
  let scale = opts.scale ?? 1;
  if (targetRows !== null) {
    if (!(targetRows > 0)) throw new Error(`targetRows must be positive, got ${targetRows}`);
    scale = targetRows / totalRows(1, months);
  }
  if (!(scale > 0)) throw new Error(`scale must be positive, got ${scale}`);
  return { endPeriod, months, seed, scale, targetRows, format };
}

/** The tables' generators over one context, in TABLES order. */
function generators(ctx: Context): Record<TableName, TableGen> {
  return {
    tickets: ticketsTable(ctx),
    surveys: surveysTable(ctx),
    orders: ordersTable(ctx),
    complaints: complaintsTable(ctx),
    invoices: invoicesTable(ctx),
    customers: customersTable(ctx),
    contacts: contactsTable(ctx),
  };
}

/** Rows all tables would hold at this scale (records plus the older versions added). */
function totalRows(scale: number, months: number): number {
  const c = recordCounts(scale, months);
  const records: Record<TableName, number> = {
    tickets: c.tickets,
    surveys: c.csat + c.nps + 5 * c.servqual,
    orders: c.orders,
    complaints: c.complaints,
    invoices: c.orders,
    customers: c.customers,
    contacts: c.contacts,
  };
  return TABLES.reduce((sum, t) => sum + planDefects(CONTRACT[t], records[t]).rows, 0);
}

export async function generateSampleData(dir: string, opts: SampleOptions = {}): Promise<SampleResult> {
  const o = resolve(opts);
  prepare(dir, o);
  const ctx = new Context(o.seed, o.endPeriod, o.months, recordCounts(o.scale, o.months));
  const cal = new ExportCalendar(ctx.months);
  const gens = generators(ctx);
  const plans = Object.fromEntries(TABLES.map((t) => [t, planDefects(gens[t].def, gens[t].records)])) as Record<TableName, DefectPlan>;
  const total = TABLES.reduce((s, t) => s + plans[t].rows, 0);
  let done = 0;
  const tick = () => {
    if ((++done & 0xffff) === 0) opts.onProgress?.(done, total);
  };
  const rows = {} as Record<TableName, number>;
  for (const t of TABLES) {
    const before = done;
    const files = writeTable(ctx, cal, join(dir, t), gens[t], plans[t], tick);
    rows[t] = done - before;
    if (rows[t] !== plans[t].rows) throw new Error(`sample ${t}: wrote ${rows[t]} rows, planned ${plans[t].rows}`);
    if (o.format !== 'csv') await convertFiles(files, o.format);
  }
  opts.onProgress?.(done, total);
  writeManifest(dir, o, rows, plans, true);
  return { rows };
}

/** Generates into `dir` unless it already holds a complete sample made with the same options. */
export async function ensureSampleData(dir: string, opts: SampleOptions = {}): Promise<SampleResult & { generated: boolean }> {
  const o = resolve(opts);
  const m = readManifest(dir);
  if (m?.complete && m.version === GENERATOR_VERSION && JSON.stringify(m.options) === JSON.stringify(o)) {
    return { rows: m.rows, generated: false };
  }
  return { ...(await generateSampleData(dir, opts)), generated: true };
}

interface Manifest {
  generator: string;
  version: number;
  complete: boolean;
  options: Resolved;
  rows: Record<TableName, number>;
  defects: Record<TableName, { reasons: string[]; perReason: number; duplicates: number }>;
}

function readManifest(dir: string): Manifest | null {
  try {
    return JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Manifest;
  } catch {
    return null;
  }
}

function writeManifest(dir: string, o: Resolved, rows: Manifest['rows'], plans: Record<TableName, DefectPlan> | null, complete: boolean): void {
  const defects = plans
    ? Object.fromEntries(TABLES.map((t) => [t, { reasons: plans[t].reasons, perReason: plans[t].perReason, duplicates: plans[t].duplicates }]))
    : {};
  const m = { generator: 'crm-service-report sample', version: GENERATOR_VERSION, complete, options: o, rows, defects };
  writeFileSync(join(dir, MANIFEST), JSON.stringify(m, null, 2) + '\n');
}

/** Clears the previous sample's tables; refuses to touch table folders it did not write. */
function prepare(dir: string, o: Resolved): void {
  const present = TABLES.filter((t) => existsSync(join(dir, t)));
  if (present.length > 0 && !existsSync(join(dir, MANIFEST))) {
    throw new Error(`${dir} already holds ${present.join(', ')} but no ${MANIFEST}: not a generated sample, refusing to overwrite`);
  }
  mkdirSync(dir, { recursive: true });
  writeManifest(dir, o, {} as Manifest['rows'], null, false);
  for (const t of present) rmSync(join(dir, t), { recursive: true, force: true });
}

function writeTable(ctx: Context, cal: ExportCalendar, tableDir: string, gen: TableGen, plan: DefectPlan, tick: () => void): string[] {
  const def = gen.def;
  const col = columnIndex(def.name);
  const upd = col.updated_at!;
  const format = formatter(def, gen);
  const writer = new PartitionedCsvWriter(tableDir, def.columns.map((c) => c.name), gen.writer);
  const rng = new Rng();
  const put = (rec: Rec, i: number, reason: Reason | null) => {
    const fields = format(rec);
    if (reason !== null) corruptFields(def, col, fields, reason, i);
    writer.write(cal.dates[cal.partitionOf(rec.v[upd] as number)]!, fields);
    tick();
  };
  let i = 0;
  gen.forEach((rec) => {
    const cls = classify(plan, i);
    const reason = cls >= 0 ? plan.reasons[cls]! : null;
    if (cls === DUPLICATE || reason === 'inconsistent_times') {
      rng.reseed(ctx.seed, 1000 + TABLES.indexOf(def.name), i);
      put(olderVersion(def, rec, rng, gen), i, null);
    }
    if (reason === 'inconsistent_times') breakTimeOrder(def, col, rec.v, i);
    put(rec, i, reason);
    i++;
  });
  writer.close();
  return writer.files;
}

/** Cells -> CSV fields: '' for null, timestamps in the record's (or the column's) style. */
function formatter(def: TableDef, gen: TableGen): (rec: Rec) => string[] {
  const types = def.columns.map((c) => c.type);
  const fixed = def.columns.map((c) => gen.fixedStyle?.[c.name]);
  const bools = def.columns.map((c) => gen.boolText?.[c.name] ?? (['true', 'false'] as const));
  const upd = def.columns.findIndex((c) => c.name === 'updated_at');
  return (rec) => {
    const out = new Array<string>(types.length);
    for (let k = 0; k < types.length; k++) {
      const x = rec.v[k];
      if (x === null || x === undefined) out[k] = '';
      else if (types[k] === 'timestamp') {
        const style = fixed[k] ?? (k === upd && rec.style === Style.Date ? Style.Z : rec.style);
        out[k] = formatTs(x as number, style);
      } else if (types[k] === 'bool') out[k] = x ? bools[k]![0] : bools[k]![1];
      else out[k] = String(x);
    }
    return out;
  };
}

/**
 * An earlier export of the record: updated_at moved back to a cut between its first event and its
 * last update, events after the cut cleared (required ones and future dates such as promised_at
 * and due_at are kept), then the table's own fix-ups (status, scores...).
 */
function olderVersion(def: TableDef, rec: Rec, rng: Rng, gen: TableGen): Rec {
  const v: Val[] = rec.v.slice();
  const upd = def.columns.findIndex((c) => c.name === 'updated_at');
  const updated = v[upd] as number;
  const events = def.columns.map((c, k) => (c.type === 'timestamp' && k !== upd ? k : -1)).filter((k) => k >= 0);
  const firstRequired = events.find((k) => def.columns[k]!.required && v[k] !== null);
  const times = events.map((k) => v[k]).filter((x): x is number => typeof x === 'number' && x <= updated);
  const lo = firstRequired !== undefined ? (v[firstRequired] as number) : Math.min(updated, ...times) - 6 * 3_600_000;
  const cut = Math.floor(Math.min(updated - 60_000, lo + rng.next() * (updated - lo)) / 1000) * 1000;
  for (const k of events) {
    const x = v[k];
    if (!def.columns[k]!.required && typeof x === 'number' && x > cut && x <= updated) v[k] = null;
  }
  v[upd] = cut;
  gen.fixOlder?.(v, rng);
  return { v, style: rec.style };
}
