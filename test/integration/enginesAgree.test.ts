/**
 * One SQL text, the same answer on every engine: whole datasets run on DuckDB and on Trino, and
 * metrics.json must be identical, byte for byte, apart from `generatedAt`.
 *
 * Two kinds of data: the sample generator's realistic exports (every reject reason, duplicate
 * versions, segments in several scripts) in its three file formats, and a fuzzed export of every
 * table whose values are drawn from the edges of the data contract's formats, where engines differ
 * unless the SQL pins the behaviour (line breaks after a number, fractions beyond milliseconds,
 * far offsets, versions tied on updated_at, non-existent days, exponent decimals, ...).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { QueryEngine } from '../../functions/engine/engine.js';
import { CONTRACT, type ColumnDef, TABLES } from '../../functions/pipeline/contract.js';
import { generateSampleData, type SampleFormat } from '../../functions/sample/generate.js';
import { writeExports } from '../helpers/fixtures.js';
import { openEngine, type EngineName } from '../support/engines.js';
import { trinoOrSkip } from '../support/trino.js';
import { computeMetrics } from '../../functions/metrics/computeMetrics.js';
import { type MetricsJson } from '../../functions/metrics/schema.js';
import { DEFAULT_TARGETS } from '../../functions/metrics/config.js';

/** A small seeded PRNG (mulberry32): the same dataset on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** A timestamp text in one of the contract's forms (or just outside them), around 2025-10 … 2026-11. */
function timestampText(r: () => number): string {
  const ms = Date.UTC(2025, 9, 1) + Math.floor(r() * 400 * 86_400_000);
  const d = new Date(ms);
  const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  const fraction = ['', '.5', '.123', '.0005', '.9999', '.123456789'][Math.floor(r() * 6)]!;
  const offset = ['Z', '', '+03:00', '-05:30', '+14:45', '-23:59', '+00:00'][Math.floor(r() * 7)]!;
  const forms = [
    `${date}T${time}${fraction}${offset}`,
    `${date} ${time}${fraction}${offset}`,
    date,
    `${date}T${time}Z\n`,
    ` ${date}`,
    `${date}T24:00:00Z`,
    '2026-02-29T10:00:00Z',
    `${date}T${time.slice(0, 5)}`,
    date.replace(/-/g, '/'),
    '',
  ];
  const weights = [60, 15, 10, 1, 1, 1, 1, 1, 1, 9];
  let x = r() * weights.reduce((a, b) => a + b, 0);
  for (const [i, w] of weights.entries()) if ((x -= w) < 0) return forms[i]!;
  return forms[0]!;
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

const POOLS = {
  int: ['0', '1', '1', '2', '3', '5', '9', '10', '-1', '+3', '007', '1.0', 'x', '', '', '5\n', '99999999999999999999'],
  decimal: ['1.5', '-2', '.5', '5.', '10', '1e5', '', 'abc', '0.1'],
  bool: ['true', 'FALSE', '1', '0', 'yes', 'N', 'y', 'maybe', '', 'True'],
  team: ['Alpha', 'Beta', 'Ünïcode', '客服一组', 'Служба', '', 'x, y', '"quoted"'],
  channel: ['email', 'phone', 'chat', ''],
  survey_type: ['csat', 'csat', 'nps', 'nps', 'servqual', 'CSAT', ''],
  dimension: ['reliability', 'responsiveness', 'assurance', 'empathy', 'tangibles', 'other', ''],
} as const;

function valueText(c: ColumnDef, r: () => number, keys: number): string {
  if (c.name === CONTRACT.tickets.key || c.name.endsWith('_id')) return r() < 0.03 ? '' : `K${Math.floor(r() * keys)}`;
  if (c.name === 'updated_at') return r() < 0.3 ? pick(r, ['2026-10-01T00:00:00Z', '2026-11-15T12:00:00Z']) : timestampText(r);
  if (c.name in POOLS) return pick(r, POOLS[c.name as keyof typeof POOLS]);
  switch (c.type) {
    case 'timestamp':
      return timestampText(r);
    case 'int':
      return c.name === 'score' || c.name === 'expectation' ? pick(r, ['1', '3', '4', '5', '6', '7', '9', '10', '0', '11', '', 'x']) : pick(r, POOLS.int);
    case 'decimal':
      return pick(r, POOLS.decimal);
    case 'bool':
      return pick(r, POOLS.bool);
    case 'string':
      return pick(r, ['a', 'b', '', 'c d']);
  }
}

/** RFC 4180: quote a field holding a comma, quote or line break. */
const field = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** Every table with `rows` fuzzed rows, keys drawn from a small pool so versions collide. */
function fuzzedExports(seed: number, rows: number): Record<string, string> {
  const r = rng(seed);
  const files: Record<string, string> = {};
  for (const t of TABLES) {
    const cols = CONTRACT[t].columns;
    const lines = [cols.map((c) => c.name).join(',')];
    for (let i = 0; i < rows; i++) lines.push(cols.map((c) => field(valueText(c, r, Math.ceil(rows / 2)))).join(','));
    // Two files in two partitions, split unevenly.
    const cut = 1 + Math.floor(rows / 3);
    files[`${t}/dt=2026-10-01/a.csv`] = [lines[0], ...lines.slice(1, cut)].join('\n') + '\n';
    files[`${t}/dt=2026-11-02/b.csv`] = [lines[0], ...lines.slice(cut)].join('\n') + '\n';
  }
  return files;
}

async function metricsOn(engineName: EngineName, dir: string, period: string, timezone: string): Promise<string> {
  const engine: QueryEngine = await openEngine(engineName, dir);
  try {
    const m: MetricsJson = await computeMetrics({ engine, period, timezone, targets: DEFAULT_TARGETS, reportId: 'agree', locale: 'en', now: new Date(0) });
    return JSON.stringify(m, null, 2);
  } finally {
    await engine.close();
  }
}

/** The first lines where two texts differ, for a readable failure. */
function firstDifference(a: string, b: string): string {
  const al = a.split('\n');
  const bl = b.split('\n');
  const i = al.findIndex((l, k) => l !== bl[k]);
  return i < 0 ? '' : `line ${i + 1}:\n  duckdb: ${al.slice(Math.max(0, i - 3), i + 2).join('\n          ')}\n  trino:  ${bl.slice(Math.max(0, i - 3), i + 2).join('\n          ')}`;
}

describe.skipIf(!trinoOrSkip())('DuckDB and Trino agree on whole datasets', () => {
  const SAMPLES: [seed: number, format: SampleFormat, timezone: string][] = [
    [7, 'csv', 'Europe/Moscow'],
    [11, 'csv.gz', 'America/New_York'],
    [23, 'parquet', 'Asia/Shanghai'],
  ];
  it.each(SAMPLES)('sample generator, seed %i, %s, %s: identical metrics.json', async (seed, format, timezone) => {
    const dir = mkdtempSync(join(tmpdir(), 'agree-sample-'));
    await generateSampleData(dir, { seed, format, scale: 0.05, endPeriod: '2026-10' });

    const [duck, trino] = [await metricsOn('duckdb', dir, '2026-10', timezone), await metricsOn('trino', dir, '2026-10', timezone)];

    expect(JSON.parse(duck).dataQuality.tickets.rowsRead).toBeGreaterThan(100);
    expect(trino === duck, firstDifference(duck, trino)).toBe(true);
  });

  it.each([
    [1, 'UTC'],
    [2, 'Europe/Berlin'],
    [3, 'Pacific/Kiritimati'],
  ])('fuzzed edge values, seed %i, %s: identical metrics.json', async (seed, timezone) => {
    const dir = writeExports(fuzzedExports(seed, 1000));

    const [duck, trino] = [await metricsOn('duckdb', dir, '2026-10', timezone), await metricsOn('trino', dir, '2026-10', timezone)];

    expect(trino === duck, firstDifference(duck, trino)).toBe(true);
    const quality = JSON.parse(duck).dataQuality.tickets;
    expect(quality.recordsUsed, 'the fuzz must leave records to aggregate').toBeGreaterThan(20);
    expect(Object.keys(quality.rejected).length, 'and reject rows for several reasons').toBeGreaterThan(2);
  });
});
