/**
 * `npm run check` as a user runs it: the files each table reads, the reader's detection line,
 * every reject reason with examples naming file, row, column and value, the gate's verdict, its
 * exit code (0 passes, 5 held), and nothing written.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { csv, writeExports } from '../helpers/fixtures.js';

function checkCli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'functions/cli/check.ts', ...args], { encoding: 'utf8' });
  return { code: r.status, lines: r.stdout.split('\n'), stderr: r.stderr };
}

describe('npm run check', () => {
  it('shows what is read and detected, each reject reason with examples, and holds: exit 5, nothing written', () => {
    // Prepare: tickets with one row per reject reason (row N is line N + 1: the header is line 1), and a
    // good one; one survey, separated by semicolons; no other table.
    const data = writeExports({
      'tickets/dt=2026-10-01/a.csv': csv(
        'ticket_id,created_at,first_response_at,updated_at,contacts_count',
        't1,2026-10-05T14:03:00Z,,2026-10-06T00:00:00Z,1', // row 1: fine
        ',2026-10-05T14:03:00Z,,2026-10-06T00:00:00Z,1', // row 2: missing_key
        't3,2026-10-05T14:03:00Z,,05.10.2026 15:00,1', // row 3: bad_updated_at
        't4,2026-10-05T14:03:00Z,,2026-10-06T00:00:00Z,many', // row 4: bad_value
        't5,,,2026-10-06T00:00:00Z,1', // row 5: missing_required
        't6,2026-10-05T14:03:00Z,,2026-10-06T00:00:00Z,-2', // row 6: out_of_range
        't7,2026-10-05T14:03:00Z,2026-10-04T00:00:00Z,2026-10-06T00:00:00Z,1', // row 7: inconsistent_times
      ),
      'surveys/s.csv': csv('response_id;survey_type;score;sent_at;updated_at', 'r1;csat;5;2026-10-05T00:00:00Z;2026-10-31T23:00:00Z'),
    });
    const before = readdirSync(data, { recursive: true }).sort();

    // Act
    const r = checkCli('--data', data, '--period', '2026-10', '--timezone', 'UTC');

    // Assess
    expect(r.code, r.stderr).toBe(5);
    const at = (line: string) => r.lines.indexOf(line);
    expect(r.lines).toContain('  tickets: 1 file: tickets/dt=2026-10-01/a.csv');
    expect(r.lines).toContain('  surveys: 1 file: surveys/s.csv');
    expect(r.lines).toContain('  orders: no files');
    // what the reader detected, in its own words
    expect(r.lines).toContain("surveys: 1 file, UTF-8, ';'");
    const examples: [string, string][] = [
      ['  tickets missing_key: 1 row', '    tickets/dt=2026-10-01/a.csv line 3 (row 2), column ticket_id: (empty)'],
      ['  tickets bad_updated_at: 1 row', '    tickets/dt=2026-10-01/a.csv line 4 (row 3), column updated_at: "05.10.2026 15:00"'],
      ['  tickets bad_value: 1 row', '    tickets/dt=2026-10-01/a.csv line 5 (row 4), column contacts_count: "many"'],
      ['  tickets missing_required: 1 row', '    tickets/dt=2026-10-01/a.csv line 6 (row 5), column created_at: (empty)'],
      ['  tickets out_of_range: 1 row', '    tickets/dt=2026-10-01/a.csv line 7 (row 6), column contacts_count: "-2"'],
      ['  tickets inconsistent_times: 1 row', '    tickets/dt=2026-10-01/a.csv line 8 (row 7), column first_response_at: "2026-10-04T00:00:00Z (before created_at 2026-10-05T14:03:00Z)"'],
    ];
    for (const [count, example] of examples) {
      expect(at(count), count).toBeGreaterThan(0);
      expect(r.lines[at(count) + 1]).toBe(example);
    }
    // 6 of 7 ticket rows rejected; the one used was last updated 26 days before the end; five tables absent
    expect(r.lines).toContain('gate: monthly-service-review 2026-10 HELD, 7 reasons:');
    expect(r.lines).toContain('  - tickets: 6 of 7 rows rejected (85.7 %), more than the 5.0 % allowed (gate.maxRejectedShare)');
    expect(r.lines).toContain("  - tickets: stale, newest record 2026-10-06T00:00:00.000Z is 26.0 days before the period's end (staleAfterDays 7)");
    expect(r.lines).toContain("  - orders: no export files (the report's indicators read this table)");
    expect(readdirSync(data, { recursive: true }).sort()).toEqual(before);
  });

  it('shows a few examples per reason however many rows share it', () => {
    const rows = Array.from({ length: 8 }, (_, i) => `c${i + 1},2026-10-02T00:00:00Z,2026-10-0${(i % 8) + 2} 10:00`); // no seconds: not a timestamp
    const data = writeExports({ 'complaints/a.csv': csv('complaint_id,opened_at,updated_at', ...rows) });
    const r = checkCli('--data', data, '--period', '2026-10', '--timezone', 'UTC');
    const i = r.lines.indexOf('  complaints bad_updated_at: 8 rows');
    expect(i).toBeGreaterThan(0);
    expect(r.lines.slice(i + 1, i + 4)).toEqual([
      '    complaints/a.csv line 2 (row 1), column updated_at: "2026-10-02 10:00"',
      '    complaints/a.csv line 3 (row 2), column updated_at: "2026-10-03 10:00"',
      '    complaints/a.csv line 4 (row 3), column updated_at: "2026-10-04 10:00"',
    ]);
    expect(r.lines[i + 4]).not.toMatch(/row 4/);
  });

  it('names the record by its key when the table is read through a source mapping', () => {
    // Prepare: a foreign export of complaints, mapped; its second record has a date in a foreign format.
    const data = writeExports({
      'crm/complaints.csv': csv('id,opened,changed', 'k1,2026-10-02T00:00:00Z,2026-10-31T22:00:00Z', 'k2,2026-10-03T00:00:00Z,03.10.2026'),
      'mapping.yaml': ['sources:', '  raw: crm/complaints.csv', 'tables:', '  complaints: |', '    SELECT id AS complaint_id, opened AS opened_at, changed AS updated_at FROM raw', ''].join('\n'),
    });
    // Act
    const r = checkCli('--data', data, '--mapping', join(data, 'mapping.yaml'), '--period', '2026-10', '--timezone', 'UTC');
    // Assess
    const i = r.lines.indexOf('  complaints bad_updated_at: 1 row');
    expect(i, r.lines.join('\n') + r.stderr).toBeGreaterThan(0);
    expect(r.lines[i + 1]).toBe('    key "k2" (through the mapping), column updated_at: "03.10.2026"');
  });

  it.skipIf(!existsSync(join('..', 'shared', 'datasets')))('exits 0 when the report would pass', () => {
    // The README's own example: a source mapping maps three tables; the gate judges those.
    const r = checkCli('--data', join('..', 'shared', 'datasets', 'call-center'), '--mapping', 'config/mappings/call-center.yaml', '--period', '2021-03', '--timezone', 'UTC');
    expect(r.code, r.lines.join('\n')).toBe(0);
    expect(r.lines).toContain('gate: passed for monthly-service-review 2021-03');
    expect(r.lines).toContain('  none');
  });
});
