/** The metrics CLI as a user runs it: exit codes, one clear line per bad input, the file it writes. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { csv, writeExports } from '../helpers/fixtures.js';
import { trinoOrSkip } from '../support/trino.js';

function metricsCli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'functions/cli/metrics.ts', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const data = writeExports({
  'complaints/dt=2026-10-01/a.csv': csv('complaint_id,opened_at,resolved_at,updated_at', 'c1,2026-10-02T00:00:00Z,2026-10-03T00:00:00Z,2026-10-03'),
});

describe('npm run metrics', () => {
  it('writes <out>/<reportId>-<period>.<locale>.metrics.json and prints its path', () => {
    const out = mkdtempSync(join(tmpdir(), 'metrics-out-'));
    // complaints only: the data gate would hold it (dataGate.test.ts); written anyway here
    const r = metricsCli('--data', data, '--period', '2026-10', '--timezone', 'UTC', '--out', out, '--report', 'monthly-service-review', '--allow-incomplete');
    expect(r.code).toBe(0);
    const file = join(out, 'monthly-service-review-2026-10.en.metrics.json');
    expect(r.stdout.trim()).toBe(file);
    const m = JSON.parse(readFileSync(file, 'utf8'));
    expect(m.indicators.complaint_resolution_median_h).toMatchObject({ value: 24, n: 1 });
    expect(m.period).toEqual({ id: '2026-10', timezone: 'UTC', start: '2026-10-01T00:00:00.000Z', end: '2026-11-01T00:00:00.000Z' });
  });

  it.each([
    [['--period', '2026-1'], /^error: invalid period "2026-1": expected YYYY-MM/],
    [['--period', '2026-10', '--timezone', 'Europe/Atlantis'], /^error: unknown time zone "Europe\/Atlantis"/],
    [['--period', '2026-10', '--data', '/no/such/folder'], /^error: data folder not found: \/no\/such\/folder/],
    [['--period', '2026-10', '--report', 'nope'], /^error: reports: no report "nope"; known: monthly-service-review/],
  ])('rejects %j with one line and exit code 1', (args, message) => {
    const r = metricsCli('--data', data, ...(args as string[]));
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message as RegExp);
  });

  it('names table, file and column when a required column is missing', () => {
    const bad = writeExports({ 'tickets/dt=2026-10-01/export.csv': csv('ticket_id,updated_at', 't1,2026-10-01') });
    const r = metricsCli('--data', bad, '--period', '2026-10', '--timezone', 'UTC');
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('error: tickets: tickets/dt=2026-10-01/export.csv has no column "created_at" (required by the data contract)');
  });

  it('lists every problem of an invalid targets file with its path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'targets-'));
    const file = join(dir, 'targets.yaml');
    writeFileSync(file, 'min_sample: -1\ntargets:\n  csat_pct: { target: 85, warn: 90 }\n  nope_pct: { target: 1 }\n');
    const r = metricsCli('--data', data, '--period', '2026-10', '--targets', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: ${file}: 3 problems:`);
    expect(r.stderr).toContain('min_sample: ');
    expect(r.stderr).toContain('targets.csat_pct.warn: warn (90) must be <= target (85) when higher is better');
    expect(r.stderr).toContain('targets.nope_pct: unknown indicator id "nope_pct"');
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });
});

describe.skipIf(!trinoOrSkip())('npm run metrics -- --engine trino', () => {
  const withoutTime = (file: string) => readFileSync(file, 'utf8').replace(/"generatedAt": "[^"]*"/, '');

  it('on the local Trino writes the same metrics.json as the default engine', () => {
    const [duck, trino] = [mkdtempSync(join(tmpdir(), 'metrics-duck-')), mkdtempSync(join(tmpdir(), 'metrics-trino-'))];
    const args = ['--data', data, '--period', '2026-10', '--timezone', 'UTC', '--report', 'monthly-service-review', '--allow-incomplete'];

    const a = metricsCli(...args, '--out', duck);
    const b = metricsCli(...args, '--out', trino, '--engine', 'trino');

    expect([a.code, b.code], b.stderr).toEqual([0, 0]);
    expect(b.stderr).toContain('trino: loading');
    const name = 'monthly-service-review-2026-10.en.metrics.json';
    expect(withoutTime(join(trino, name))).toBe(withoutTime(join(duck, name)));
  });

  it.each([
    [['--trino-url', 'http://127.0.0.1:1'], /^error: --trino-url needs --trino-catalog and --trino-schema/],
    [['--trino-url', 'http://127.0.0.1:1', '--trino-catalog', 'hive', '--trino-schema', 'crm', '--data', 'x'], /^error: --data and --mapping load exports into the local Trino only/],
    [['--trino-url', 'http://127.0.0.1:1', '--trino-catalog', 'hive', '--trino-schema', 'crm'], /^error: trino query "tables" failed at http:\/\/127\.0\.0\.1:1: ECONNREFUSED/],
  ])('rejects %j with one line and exit code 1, never printing the password', (args, message) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'functions/cli/metrics.ts', '--engine', 'trino', '--period', '2026-10', ...(args as string[])], {
      encoding: 'utf8',
      env: { ...process.env, TRINO_PASSWORD: 'pa55-w0rd-secret' },
    });

    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('error: '))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(message as RegExp);
    expect(r.stderr + r.stdout).not.toContain('pa55-w0rd-secret');
  });
});
