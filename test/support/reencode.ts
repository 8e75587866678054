/**
 * Re-saving a UTF-8 comma-separated export folder the way other tools save it: in GB18030,
 * Windows-1251 or UTF-16, with `;` or tab separators, flat in the data folder, or as an Excel
 * workbook. The encoders are built from Node's own decoders (every byte sequence decoded once, the
 * table inverted), so no encoding library is needed and an encoder cannot disagree with the
 * standard decoding of its bytes.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';

export type TestEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'gb18030' | 'windows-1251';

const tables = new Map<string, Map<string, Buffer>>();

/** char -> bytes for a legacy encoding, from decoding every 1-, 2- and (for GB18030, BMP) 4-byte sequence. */
function encoderTable(encoding: 'gb18030' | 'windows-1251'): Map<string, Buffer> {
  const cached = tables.get(encoding);
  if (cached) return cached;
  const map = new Map<string, Buffer>();
  const dec = new TextDecoder(encoding, { fatal: true });
  const put = (bytes: number[]) => {
    let ch: string;
    try {
      ch = dec.decode(Uint8Array.from(bytes));
    } catch {
      return;
    }
    if ([...ch].length === 1 && !map.has(ch)) map.set(ch, Buffer.from(bytes));
  };
  if (encoding === 'windows-1251') {
    for (let b = 0; b < 256; b++) put([b]);
  } else {
    for (let b = 0; b < 0x80; b++) put([b]);
    for (let lead = 0x81; lead <= 0xfe; lead++) for (let t = 0x40; t <= 0xfe; t++) if (t !== 0x7f) put([lead, t]);
    for (let a = 0x81; a <= 0x84; a++) for (let b = 0x30; b <= 0x39; b++) for (let c = 0x81; c <= 0xfe; c++) for (let d = 0x30; d <= 0x39; d++) put([a, b, c, d]);
  }
  tables.set(encoding, map);
  return map;
}

/** `text` in `encoding` (UTF-16 with a byte-order mark); throws naming a character the encoding cannot hold. */
export function encodeText(text: string, encoding: TestEncoding): Buffer {
  if (encoding === 'utf-8') return Buffer.from(text, 'utf8');
  if (encoding === 'utf-16le') return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
  if (encoding === 'utf-16be') return Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);
  const map = encoderTable(encoding);
  const parts: Buffer[] = [];
  for (const ch of text) {
    const b = map.get(ch);
    if (!b) throw new Error(`${encoding} cannot hold ${JSON.stringify(ch)} (U+${ch.codePointAt(0)!.toString(16).toUpperCase()})`);
    parts.push(b);
  }
  return Buffer.concat(parts);
}

/** `text` with every character `encoding` cannot hold replaced by `replacement` (a byte-order mark is kept: it is not text). */
export function holdable(text: string, encoding: 'gb18030' | 'windows-1251', replacement = '?'): string {
  const map = encoderTable(encoding);
  let out = '';
  for (const ch of text) out += map.has(ch) || ch === '\ufeff' ? ch : replacement;
  return out;
}

/** Every file under `dir`, relative, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

/** Records of a CSV text (RFC 4180). */
export function parseCsv(text: string): string[][] {
  return parse(text, { bom: true, relax_column_count: true, skip_empty_lines: false }) as string[][];
}

/** Records as CSV text with `delimiter`, quoting what needs it, CRLF line ends as Excel writes them. */
export function writeCsv(records: string[][], delimiter: string): string {
  const field = (v: string) => (v.includes(delimiter) || /["\r\n]/.test(v) || /^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return records.map((r) => r.map(field).join(delimiter)).join('\r\n') + '\r\n';
}

/**
 * A copy of the UTF-8 CSV export folder `src` (every file a .csv), each file re-saved by `resave`
 * (its relative path, its text -> new relative path and bytes).
 */
export function resaveFolder(src: string, resave: (rel: string, text: string) => [string, Buffer]): string {
  const out = mkdtempSync(join(tmpdir(), 'resaved-'));
  for (const rel of listFiles(src)) {
    if (!rel.endsWith('.csv')) continue;
    const [to, bytes] = resave(rel, readFileSync(join(src, rel), 'utf8'));
    mkdirSync(dirname(join(out, to)), { recursive: true });
    writeFileSync(join(out, to), bytes);
  }
  return out;
}

/** A cell as a user's Excel would hold it: ISO timestamps as date cells, plain numbers as numbers, true/false as booleans, the rest text. */
function typedCell(v: string): ExcelJS.CellValue {
  if (v === '') return null;
  if (v === 'true' || v === 'false') return v === 'true';
  if (/^-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,6})?$/.test(v) && String(Number(v)) === v) return Number(v);
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/.test(v)) {
    const ms = Date.parse(v);
    if (!Number.isNaN(ms)) return new Date(ms);
  }
  return v;
}

/**
 * One workbook with a sheet per table, each holding the records of every CSV file of that table
 * under `src` (header once), cells typed as a user's Excel holds them (see typedCell).
 */
export async function workbookOf(src: string, tablesOf: string[], file: string, sheetName: (table: string) => string = (t) => t): Promise<void> {
  const wb = new ExcelJS.Workbook();
  for (const table of tablesOf) {
    const files = listFiles(src).filter((f) => f.startsWith(`${table}/`) && f.endsWith('.csv'));
    if (!files.length) continue;
    const ws = wb.addWorksheet(sheetName(table));
    let header: string[] | null = null;
    for (const f of files) {
      const [head, ...rows] = parseCsv(readFileSync(join(src, f), 'utf8'));
      if (!head) continue;
      if (!header) {
        header = head;
        ws.addRow(head);
      }
      if (head.join(',') !== header.join(',')) throw new Error(`${f}: another header than the first file of ${table}`);
      for (const r of rows) ws.addRow(r.map(typedCell));
    }
  }
  await wb.xlsx.writeFile(file);
}
