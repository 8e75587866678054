/**
 * Exports as the CRMs of China and Russia save them: GB18030, Windows-1251, UTF-16, `;` and tab
 * separators, decimal commas, Excel workbooks. A realistic UTF-8 comma export (the sample
 * generator's, with Chinese and Russian team names) is re-saved each way and must give the same
 * metrics.json, with no flag; then the edges one at a time.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import ExcelJS from 'exceljs';
import { beforeAll, describe, expect, it } from 'vitest';
import { runMetricsJob } from '../../functions/cli/runMetrics.js';
import { openDuckDbEngine } from '../../functions/engine/duckdbEngine.js';
import { closeReader, rawSelect } from '../../functions/engine/exportReader.js';
import { TABLES } from '../../functions/pipeline/contract.js';
import { generateSampleData } from '../../functions/sample/generate.js';
import { csv, writeExports } from '../helpers/fixtures.js';
import { openEngine, describeEngines } from '../support/engines.js';
import { encodeText, holdable, listFiles, parseCsv, resaveFolder, workbookOf, writeCsv, type TestEncoding } from '../support/reencode.js';

const PERIOD = '2026-10';
const NOW = new Date('2026-11-03T00:00:00Z');

/** metrics.json of `data` as `npm run metrics -- --data <data>` computes it (no encoding or layout flag), and the progress lines. */
async function metricsOf(data: string): Promise<{ json: Record<string, unknown>; log: string[] }> {
  const log: string[] = [];
  const out = mkdtempSync(join(tmpdir(), 'enc-out-'));
  const { metricsText } = await runMetricsJob({ data, period: PERIOD, timezone: 'Europe/Moscow', out, now: NOW, allowIncomplete: true, log: (l) => log.push(l) });
  const json = JSON.parse(metricsText) as Record<string, unknown>;
  delete json['generatedAt']; // run-specific
  return { json, log };
}

/** The team names of the segments of a metrics.json. */
function teams(m: Record<string, unknown>): string[] {
  return Object.keys((m['segments'] as { team: Record<string, unknown> }).team);
}

const resaved = (src: string, encoding: TestEncoding, delimiter: string) =>
  resaveFolder(src, (rel, text) => [rel, encodeText(writeCsv(parseCsv(text), delimiter), encoding)]);

describe('a UTF-8 comma export re-saved as other tools save it gives the same metrics.json', () => {
  let src: string;
  let base: Record<string, unknown>;
  let src1251: string;
  let base1251: Record<string, unknown>;
  const ticketFiles = () => listFiles(src).filter((f) => f.startsWith('tickets/')).length;

  beforeAll(async () => {
    src = mkdtempSync(join(tmpdir(), 'enc-src-'));
    await generateSampleData(src, { seed: 3, scale: 0.05, endPeriod: PERIOD });
    base = (await metricsOf(src)).json;
    // Windows-1251 cannot hold Chinese (nor "São"): its original holds a Russian name in their place.
    src1251 = resaveFolder(src, (rel, text) => [rel, Buffer.from(holdable(text.replaceAll('售后服务', 'Сервис'), 'windows-1251'))]);
    base1251 = (await metricsOf(src1251)).json;
  }, 120_000);

  it('the original holds Chinese and Russian team names, and rows to count', () => {
    expect(teams(base)).toContain('售后服务');
    expect(teams(base)).toContain('Техподдержка');
    expect(teams(base1251)).toContain('Сервис');
    expect((base['dataQuality'] as { tickets: { rowsRead: number } }).tickets.rowsRead).toBeGreaterThan(1000);
  });

  it.each<[string, TestEncoding, string, string]>([
    ['GB18030, ;', 'gb18030', ';', "GB18030, ';'"],
    ['GB18030, tab', 'gb18030', '\t', 'GB18030, tab'],
    ['UTF-16LE with BOM, tab (Excel "Unicode text")', 'utf-16le', '\t', 'UTF-16LE, tab'],
    ['UTF-16BE with BOM, ,', 'utf-16be', ',', "UTF-16BE, ','"],
    ['UTF-8, ;', 'utf-8', ';', "UTF-8, ';'"],
    ['UTF-8, |', 'utf-8', '|', "UTF-8, '|'"],
  ])('%s', async (_label, encoding, delimiter, detected) => {
    const data = resaved(src, encoding, delimiter);

    const { json, log } = await metricsOf(data);

    expect(json).toEqual(base);
    expect(teams(json)).toContain('售后服务');
    expect(teams(json)).toContain('Техподдержка');
    expect(log).toContain(`tickets: ${ticketFiles()} files, ${detected}`);
  }, 60_000);

  it('Windows-1251, ; (Russian Excel, 1C, Bitrix24)', async () => {
    const data = resaved(src1251, 'windows-1251', ';');

    const { json, log } = await metricsOf(data);

    expect(json).toEqual(base1251);
    expect(teams(json)).toContain('Техподдержка');
    expect(teams(json)).toContain('Сервис');
    expect(log).toContain(`tickets: ${ticketFiles()} files, Windows-1251, ';'`);
  }, 60_000);

  it('an Excel workbook with a sheet per table (cells typed: dates, numbers, booleans)', async () => {
    const data = mkdtempSync(join(tmpdir(), 'enc-xlsx-'));
    await workbookOf(src, [...TABLES], join(data, 'crm.xlsx'));

    const { json, log } = await metricsOf(data);

    expect(json).toEqual(base);
    expect(teams(json)).toContain('售后服务');
    expect(log).toContain('tickets: 1 file, Excel sheet "tickets"');
  }, 60_000);
});

describe('encodings one at a time', () => {
  const H = 'complaint_id,category,opened_at,updated_at';

  async function categories(files: Record<string, Buffer | string>): Promise<unknown[]> {
    const engine = await openDuckDbEngine({ dataDir: writeExports(files) });
    try {
      return (await engine.query('SELECT category FROM complaints ORDER BY complaint_id')).map((r) => r['category']);
    } finally {
      await engine.close();
    }
  }

  it('tells GB18030 from Windows-1251 on short texts, UTF-8 with and without BOM, UTF-16 without a BOM', async () => {
    const text = (cat: string) => csv(H, `c1,${cat},2026-10-01,2026-10-01`);
    expect(
      await categories({
        'complaints/a.csv': encodeText(text('客服一组'), 'gb18030'),
        'complaints/b.csv': encodeText(text('Отдел продаж').replace('c1', 'c2'), 'windows-1251'),
        'complaints/c.csv': encodeText(text('МОСКВА').replace('c1', 'c3'), 'windows-1251'),
        'complaints/d.csv': `\ufeff${text('售后').replace('c1', 'c4')}`,
        'complaints/e.csv': text('Поддержка').replace('c1', 'c5'),
        'complaints/f.csv': Buffer.from(text('São Paulo').replace('c1', 'c6'), 'utf16le'),
      }),
    ).toEqual(['客服一组', 'Отдел продаж', 'МОСКВА', '售后', 'Поддержка', 'São Paulo']);
  });

  it('an undecodable file: one line naming the file, the byte offset and the encodings tried', async () => {
    // 0x98 is not UTF-8, starts no GB18030 character before a space, and is no character of Windows-1251.
    const bytes = Buffer.concat([Buffer.from(`${H}\nc1,`), Buffer.from([0x98, 0x20]), Buffer.from('x,2026-10-01,2026-10-01\n')]);

    await expect(categories({ 'complaints/dt=2026-10-01/bad.csv': bytes })).rejects.toMatchObject({
      name: 'ExportError',
      message:
        'complaints/dt=2026-10-01/bad.csv: cannot decode the text: no encoding fits: the first byte that is not UTF-8 is at byte offset 46 (tried UTF-8, GB18030, Windows-1251); save it as UTF-8, or state its encoding in a source mapping',
    });
  });

  it('the CLI prints how each table was read; an undecodable file is its only error line, exit code 1', () => {
    const tickets = encodeText('ticket_id;team;created_at;updated_at\r\nt1;客服一组;2026-10-05T10:00:00Z;2026-10-05T10:00:00Z\r\n', 'gb18030');
    const bad = Buffer.concat([Buffer.from(`${H}\nc1,`), Buffer.from([0x98, 0x20]), Buffer.from('x,2026-10-01,2026-10-01\n')]);
    const cli = (data: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'functions/cli/metrics.ts', '--data', data, '--period', '2026-10', '--timezone', 'UTC', '--out', mkdtempSync(join(tmpdir(), 'enc-cli-')), '--allow-incomplete'], { encoding: 'utf8' });

    const good = cli(writeExports({ 'tickets/a.csv': tickets }));
    const failed = cli(writeExports({ 'tickets/a.csv': tickets, 'complaints/bad.csv': bad }));

    expect(good.status).toBe(0);
    expect(good.stderr.split('\n')).toContain("tickets: 1 file, GB18030, ';'");
    expect(failed.status).toBe(1);
    expect(failed.stderr.trim().split('\n')).toEqual([
      'error: complaints/bad.csv: cannot decode the text: no encoding fits: the first byte that is not UTF-8 is at byte offset 46 (tried UTF-8, GB18030, Windows-1251); save it as UTF-8, or state its encoding in a source mapping',
    ]);
  });

  it('a UTF-8 file with a broken byte is named as damaged UTF-8, not read as another encoding', async () => {
    const good = `${H}\n${Array.from({ length: 20 }, (_, i) => `c${i},Техподдержка,2026-10-01,2026-10-01`).join('\n')}\n`;
    const bytes = Buffer.concat([Buffer.from(good), Buffer.from([0xff]), Buffer.from('\n')]);

    await expect(categories({ 'complaints/a.csv': bytes })).rejects.toThrow(
      `complaints/a.csv: cannot decode the text: a damaged UTF-8 file: a byte that is not UTF-8 at byte offset ${Buffer.byteLength(good)} (tried UTF-8)`,
    );
  });

  it('a stated encoding and separator (a mapping source) override detection; an unknown one is named', async () => {
    // The same bytes are "МОСКВА" in Windows-1251 (detected: the tie goes to it) and "涛咽吕" in GB18030.
    const root = writeExports({ 'raw.csv': encodeText('name|city\nn1|МОСКВА\n', 'windows-1251') });
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      const read = async (options?: Parameters<typeof rawSelect>[3]) => (await conn.runAndReadAll(`${await rawSelect(conn, [join(root, 'raw.csv')], root, options)}`)).getRowObjectsJS();

      expect(await read()).toEqual([{ name: 'n1', city: 'МОСКВА' }]);
      expect(await read({ encoding: 'gbk', delimiter: '|' })).toEqual([{ name: 'n1', city: '涛咽吕' }]);
      expect(await read({ delimiter: ',' })).toEqual([{ 'name|city': 'n1|МОСКВА' }]);
      // "UTF-16" names no byte order: the byte-order mark of a big-endian file tells it.
      const be = join(root, 'be.csv');
      writeFileSync(be, encodeText('name,city\nn2,北京\n', 'utf-16be'));
      expect((await conn.runAndReadAll(`${await rawSelect(conn, [be], root, { encoding: 'UTF-16' })}`)).getRowObjectsJS()).toEqual([{ name: 'n2', city: '北京' }]);
      await expect(read({ encoding: 'koi8-r' })).rejects.toThrow('unknown encoding "koi8-r" (known: UTF-8, UTF-16LE, UTF-16BE, GB18030, Windows-1251)');
    } finally {
      await closeReader(conn);
      conn.closeSync();
    }
  });
});

describe('decimal commas', () => {
  const H = 'order_id;customer_id;amount;ordered_at;updated_at';

  async function amounts(files: Record<string, string | Buffer>): Promise<unknown[]> {
    const engine = await openDuckDbEngine({ dataDir: writeExports(files) });
    try {
      return (await engine.query('SELECT amount FROM orders ORDER BY order_id')).map((r) => r['amount']);
    } finally {
      await engine.close();
    }
  }

  it('a ; file written with decimal commas: its amounts read as decimals (12,5 is 12.5)', async () => {
    const text = csv(H, 'o1;k1;12,5;2026-10-01;2026-10-01', 'o2;k1;-1234,50;2026-10-01;2026-10-01', 'o3;k1;,5;2026-10-01;2026-10-01', 'o4;k1;7;2026-10-01;2026-10-01');

    expect(await amounts({ 'orders/a.csv': encodeText(text, 'windows-1251') })).toEqual(['12.5', '-1234.50', '.5', '7']);
  });

  it('a ; file written with decimal points keeps a comma value as it is (a bad value to count), and a , file never changes', async () => {
    const semicolon = csv(H, 'o1;k1;12.5;2026-10-01;2026-10-01', 'o2;k1;12,50;2026-10-01;2026-10-01');
    const comma = csv(H.replaceAll(';', ','), 'o3,k1,"12,5",2026-10-01,2026-10-01');

    expect(await amounts({ 'orders/a.csv': semicolon, 'orders/b.csv': comma })).toEqual(['12.5', '12,50', '12,5']);
  });

  it('counts the decimal-comma amounts as valid in metrics (no bad_value)', async () => {
    const text = csv(H, 'o1;k1;12,5;2026-10-05T10:00:00Z;2026-10-05T10:00:00Z', 'o2;k1;7,25;2026-10-06T10:00:00Z;2026-10-06T10:00:00Z');
    const data = writeExports({ 'orders/a.csv': text });
    const { json } = await metricsOf(data);

    const q = (json['dataQuality'] as { orders: { rowsRead: number; recordsUsed: number; rejected: Record<string, number> } }).orders;
    expect(q.rowsRead).toBe(2);
    expect(q.recordsUsed).toBe(2);
    expect(q.rejected).toEqual({});
  });
});

describe('Excel values', () => {
  it('reads serial dates, date cells, text dates, numbers without float noise and booleans as contract text', async () => {
    const data = mkdtempSync(join(tmpdir(), 'xlsx-values-'));
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('Sheet1');
    ws.addRow(['ticket_id', 'created_at', 'first_response_at', 'updated_at', 'contacts_count', 'has_error', 'team']);
    // 46300.5 = 2026-10-05 12:00 (the 1900 date system); a date cell; a timestamp written as text.
    ws.addRow(['t1', 46300.5, new Date(Date.UTC(2026, 9, 5, 13, 30, 15, 250)), '2026-10-06T00:00:00+03:00', 0.1 + 0.2, true, 'Служба 客服']);
    ws.addRow([]);
    ws.addRow(['t2', '2026-10-07', null, '2026-10-07', 3, false, { richText: [{ text: 'Rich ' }, { text: 'text' }] }]);
    await wb.xlsx.writeFile(join(data, 'tickets.xlsx'));

    const engine = await openDuckDbEngine({ dataDir: data });
    try {
      const rows = await engine.query('SELECT ticket_id, created_at, first_response_at, updated_at, contacts_count, has_error, team FROM tickets ORDER BY ticket_id');

      expect(rows).toEqual([
        { ticket_id: 't1', created_at: '2026-10-05T12:00:00.000Z', first_response_at: '2026-10-05T13:30:15.250Z', updated_at: '2026-10-06T00:00:00+03:00', contacts_count: '0.3', has_error: 'true', team: 'Служба 客服' },
        { ticket_id: 't2', created_at: '2026-10-07', first_response_at: null, updated_at: '2026-10-07', contacts_count: '3', has_error: 'false', team: 'Rich text' },
      ]);
    } finally {
      await engine.close();
    }
  });

  it('a named sheet for a mapping source; errors name the workbook and the sheet', async () => {
    const data = mkdtempSync(join(tmpdir(), 'xlsx-sheets-'));
    const wb = new ExcelJS.Workbook();
    wb.addWorksheet('Summary').addRow(['nothing here']);
    const calls = wb.addWorksheet('Calls');
    calls.addRow(['Call ID', 'Agent']);
    calls.addRow(['k1', 'Анна']);
    await wb.xlsx.writeFile(join(data, 'crm.xlsx'));
    const onlySummary = new ExcelJS.Workbook();
    onlySummary.addWorksheet('Summary').addRow(['ticket_id', 'updated_at']);
    await onlySummary.xlsx.writeFile(join(data, 'tickets.xlsx'));
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      const select = await rawSelect(conn, [join(data, 'crm.xlsx')], data, { sheet: 'calls' });

      expect((await conn.runAndReadAll(select!)).getRowObjectsJS()).toEqual([{ 'call id': 'k1', agent: 'Анна' }]);
      await expect(rawSelect(conn, [join(data, 'crm.xlsx')], data, { sheet: 'Orders' })).rejects.toThrow('crm.xlsx: no sheet "Orders" (sheets: "Summary", "Calls")');
      await expect(openDuckDbEngine({ dataDir: data })).rejects.toThrow('tickets: tickets.xlsx, sheet "Summary" has no column "created_at" (required by the data contract)');
    } finally {
      await closeReader(conn);
      conn.closeSync();
    }
  });

  it('a file that is not a workbook is named', async () => {
    const data = writeExports({ 'tickets.xlsx': 'ticket_id,created_at,updated_at\n' });

    await expect(openDuckDbEngine({ dataDir: data })).rejects.toThrow(/^tickets\.xlsx: not a readable Excel workbook \(/);
  });
});

describeEngines('a GB18030 ; export with decimal commas', (engineName) => {
  it('reads team names and amounts the same on this engine', async () => {
    const text = [
      'order_id;customer_id;channel;amount;ordered_at;updated_at',
      'o1;k1;在线商城;12,5;2026-10-05T10:00:00Z;2026-10-05T10:00:00Z',
      'o2;k2;电话;-3,25;2026-10-06T10:00:00Z;2026-10-06T10:00:00Z',
    ].join('\r\n');
    const data = writeExports({ 'orders/dt=2026-10-06/export.csv': encodeText(`${text}\r\n`, 'gb18030') });
    const engine = await openEngine(engineName, data);
    try {
      const rows = await engine.query('SELECT order_id, channel, amount FROM orders ORDER BY order_id');

      expect(rows).toEqual([
        { order_id: 'o1', channel: '在线商城', amount: '12.5' },
        { order_id: 'o2', channel: '电话', amount: '-3.25' },
      ]);
    } finally {
      await engine.close();
    }
  }, 120_000);
});

it('the re-saving helper round-trips through the standard decoders', () => {
  const text = 'a;b\r\n客服;Отдел «А» №1 — €5\r\n';
  expect(new TextDecoder('gb18030').decode(encodeText(text, 'gb18030'))).toBe(text);
  expect(new TextDecoder('windows-1251').decode(encodeText(text.replace('客服', 'x'), 'windows-1251'))).toBe(text.replace('客服', 'x'));
});
