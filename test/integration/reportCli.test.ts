/** The report CLI's failure as a user sees it: one line naming the problem, exit code 1, no stack. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { csv, writeExports } from '../helpers/fixtures.js';

describe('npm run report', () => {
  it('reports a render that runs out of time in one line with exit code 1', () => {
    const data = writeExports({ 'complaints/a.csv': csv('complaint_id,opened_at,updated_at', 'c1,2026-10-02,2026-10-03') });
    const out = mkdtempSync(join(tmpdir(), 'report-out-'));
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'functions/cli/report.ts', '--data', data, '--period', '2026-10', '--timezone', 'UTC', '--out', out, '--timeout', '1'],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('error: ') || l.startsWith('    at '));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: .*(took longer than 1 ms|timed out)/);
  });
});
