/**
 * `npm run check` names the line a rejected row starts on: rows counted as the reader counts them
 * (blank lines before the header, empty lines between rows skipped, a quoted field over several
 * lines), in .csv and .csv.gz; no line for text that is not ASCII-compatible (UTF-16).
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { csvRowLines } from '../../functions/cli/check.js';
import { writeExports } from '../helpers/fixtures.js';
import { join } from 'node:path';

const TEXT = [
  '', // 1: blank before the header
  '  ', // 2: white space only, before the header
  'complaint_id,opened_at,updated_at', // 3: header
  'c1,2026-10-02T00:00:00Z,2026-10-31T23:00:00Z', // 4: row 1
  '', // 5: empty, skipped
  'c2,2026-10-02T00:00:00Z,bad', // 6: row 2
  '"c3', // 7: row 3, its key spans two lines
  'x",2026-10-02T00:00:00Z,2026-10-31T23:00:00Z', // 8
  'c4,"2026-10-02T00:00:00Z",bad2', // 9: row 4
  '',
].join('\r\n');

describe('csvRowLines', () => {
  it('finds the line each row starts on in a .csv', async () => {
    const dir = writeExports({ 'complaints/a.csv': TEXT });
    expect(await csvRowLines(join(dir, 'complaints/a.csv'), [1, 2, 3, 4])).toEqual(new Map([[1, 4], [2, 6], [3, 7], [4, 9]]));
  });

  it('and in a .csv.gz', async () => {
    const dir = writeExports({ 'complaints/a.csv.gz': gzipSync(TEXT) });
    expect(await csvRowLines(join(dir, 'complaints/a.csv.gz'), [4])).toEqual(new Map([[4, 9]]));
  });

  it('gives no line for UTF-16 text or a Parquet file', async () => {
    const dir = writeExports({ 'complaints/a.csv': Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(TEXT, 'utf16le')]), 'complaints/b.parquet': 'PAR1' });
    expect(await csvRowLines(join(dir, 'complaints/a.csv'), [1])).toEqual(new Map());
    expect(await csvRowLines(join(dir, 'complaints/b.parquet'), [1])).toEqual(new Map());
  });
});
