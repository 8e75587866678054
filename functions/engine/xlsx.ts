/**
 * Excel workbooks (`.xlsx`) as exports, read with exceljs: one sheet becomes a UTF-8 CSV file of
 * contract text values, which the CSV path of the reader then reads, validates and counts exactly
 * like any other CSV export.
 *
 * Values: text as written; numbers without binary float noise (Excel's 15 significant digits:
 * 0.1+0.2 is `0.3`); booleans `true`/`false`; date cells as ISO-8601 UTC (`2026-10-05T14:03:00.000Z`;
 * Excel stores no time zone, so a date cell is read as UTC like a timestamp without an offset);
 * plain numbers in a column the caller names as a timestamp column are Excel date serials (the
 * 1900 date system, or 1904 when the workbook says so); formulas give their cached result; an error
 * cell (`#N/A`) its text, so validation counts it. Rows with no value in any cell are skipped (Excel
 * keeps formatted empty rows).
 */
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import ExcelJS from 'exceljs';

export type Workbook = ExcelJS.Workbook;

/** Reads a whole workbook; throws exceljs's error for a file that is not an .xlsx workbook. */
export async function readWorkbook(file: string): Promise<Workbook> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(file);
  return wb;
}

/** The names of a workbook's sheets, in workbook order. */
export function sheetNames(wb: Workbook): string[] {
  return wb.worksheets.map((ws) => ws.name);
}

/** The sheet called `name` (any letter case), or undefined. */
export function findSheet(wb: Workbook, name: string): ExcelJS.Worksheet | undefined {
  const n = name.trim().toLowerCase();
  return wb.worksheets.find((ws) => ws.name.trim().toLowerCase() === n);
}

const MS_PER_DAY = 86_400_000;
/** Day 0 of Excel's 1900 date system (1899-12-30: right from 1 March 1900 on, past Excel's 29 February 1900) and of the 1904 system. */
const EPOCH_1900 = Date.UTC(1899, 11, 30);
const EPOCH_1904 = Date.UTC(1904, 0, 1);

/** An Excel date serial (days, fraction = time of day) as ISO-8601 UTC, to the millisecond. */
export function serialToIso(serial: number, date1904 = false): string {
  return new Date((date1904 ? EPOCH_1904 : EPOCH_1900) + Math.round(serial * MS_PER_DAY)).toISOString();
}

/** A number as Excel shows it at most: 15 significant digits, no exponent for ordinary magnitudes. */
export function numberText(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return n.toFixed(0);
  const rounded = Number(n.toPrecision(15));
  const s = String(rounded);
  if (!/e/i.test(s)) return s;
  // Small magnitudes: fixed notation, trailing zeros dropped.
  return rounded.toFixed(20).replace(/0+$/, '').replace(/\.$/, '');
}

type CellValue = ExcelJS.CellValue;

/** The contract text of a cell value (see the module comment). */
function cellText(v: CellValue, asTimestamp: boolean, date1904: boolean): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return asTimestamp ? serialToIso(v, date1904) : numberText(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? '' : v.toISOString();
  if (typeof v === 'object') {
    if ('richText' in v) return v.richText.map((r) => r.text).join('');
    if ('error' in v) return String(v.error);
    if ('formula' in v || 'sharedFormula' in v) return cellText((v as ExcelJS.CellFormulaValue).result as CellValue, asTimestamp, date1904);
    if ('text' in v) return String((v as ExcelJS.CellHyperlinkValue).text);
  }
  return String(v);
}

/** A CSV field, quoted when it holds a comma, quote, line break or leading/trailing white space. */
function csvField(s: string): string {
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Writes sheet `ws` as CSV (UTF-8, comma, RFC 4180 quotes) to `out`; returns the number of data
 * rows written. `timestampColumns` (lower-case header names): plain numbers there are date serials.
 */
export async function sheetToCsv(wb: Workbook, ws: ExcelJS.Worksheet, out: string, timestampColumns: ReadonlySet<string> = new Set()): Promise<number> {
  const date1904 = Boolean(wb.properties?.date1904);
  const sink = createWriteStream(out);
  let header: string[] | null = null;
  let rows = 0;
  const width = ws.columnCount;
  try {
    for (let r = 1; r <= ws.rowCount; r++) {
      const row = ws.getRow(r);
      const fields: string[] = [];
      for (let c = 1; c <= width; c++) {
        const asTs = header !== null && timestampColumns.has((header[c - 1] ?? '').trim().toLowerCase());
        fields.push(cellText(row.getCell(c).value, asTs, date1904));
      }
      if (fields.every((f) => f === '')) continue;
      if (header === null) header = fields;
      else rows++;
      if (!sink.write(`${fields.map(csvField).join(',')}\n`)) await new Promise((res) => sink.once('drain', res));
    }
  } finally {
    sink.end();
    await finished(sink);
  }
  return rows;
}
