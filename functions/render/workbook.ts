/**
 * The report's figures as an Excel workbook (`<report>-<period>.<locale>.xlsx`, beside the PDF),
 * written with exceljs from the same report model as the PDF, so names, status words and headers
 * are the PDF's, in the report's language:
 *
 *   Summary      one row per indicator: value, target, status, previous month, change, a year
 *                ago, n, low sample
 *   Trend        one row per indicator, one column per month of the 12-month window
 *   By team /    one row per indicator and segment: value, n, status, low sample
 *   By channel
 *   Data quality one row per table: rows read, duplicates, rejected (and per reason), records
 *                used, newest record (a date in the report's time zone), state
 *
 * A team's (or channel's) report (metrics.json `scope`, ./burst.ts) gets its own workbook from its
 * own metrics.json: the title, the Summary's value column and the Trend's indicator column name the
 * segment ("Value (Team: Billing)"), the Summary ends with the company's value, and there are no
 * breakdown sheets.
 *
 * Cells hold real numbers with number formats, not text: a rate is a fraction shown as a percent
 * (`0.0%`), hours and seconds are Excel durations (`[h]:mm`, `[m]:ss`), counts `#,##0`, a change
 * of a rate in percentage points with the locale's unit. Header rows are frozen (and the indicator
 * columns, where rows are indicators).
 */
import ExcelJS from 'exceljs';
import type { IndicatorDeclaration } from '../metrics/declare.js';
import type { MetricsJson, Status } from '../metrics/schema.js';
import { REJECT_REASONS, TABLES } from '../pipeline/contract.js';
import type { Locale, ReportDef } from '../pipeline/reportsConfig.js';
import { formatMonthYearShort, fractionDigits } from './format.js';
import { loadMessages, msg } from './messages.js';
import { buildReportModel, type IndicatorModel, type ReportModel } from './reportModel.js';

/** A cell's number and its format, for an indicator's unit. */
interface UnitFormat {
  /** metrics.json's value -> the cell's number (a rate 0..100 -> 0..1, hours -> days). */
  cell: (v: number) => number;
  numFmt: string;
  /** Format of a change (a signed difference of two values, converted by `cell` unless a rate). */
  changeFmt: string;
  /** metrics.json's difference -> the cell's number. */
  change: (d: number) => number;
}

const STATUS_ARGB: Record<Status, string> = { met: 'FF1A7F37', at_risk: 'FF9A6700', missed: 'FFCF222E', no_target: 'FF59636E', no_data: 'FF59636E' };

function decimals(d: number): string {
  return d > 0 ? `0.${'0'.repeat(d)}` : '0';
}

/** A literal text for an Excel number format. */
function quoted(s: string): string {
  return s ? `"${s.replace(/"/g, '')}"` : '';
}

function signed(fmt: string): string {
  return `+${fmt};-${fmt};${fmt}`;
}

/** The number format of an indicator's values and changes; `pp` is the locale's `{value} pp`. */
export function unitFormat(def: Pick<IndicatorDeclaration, 'id' | 'unit'>, pp: string): UnitFormat {
  const d = fractionDigits(def);
  switch (def.unit) {
    case '%': {
      const [before = '', after = ''] = pp.split('{value}');
      return {
        cell: (v) => v / 100,
        numFmt: `${decimals(d)}%`,
        change: (x) => x,
        changeFmt: `${quoted(before)}+${decimals(1)}${quoted(after)};${quoted(before)}-${decimals(1)}${quoted(after)};${quoted(before)}${decimals(1)}${quoted(after)}`,
      };
    }
    case 'h':
      return { cell: (v) => v / 24, numFmt: '[h]:mm', change: (x) => x / 24, changeFmt: signed('[h]:mm') };
    case 's':
      return { cell: (v) => v / 86_400, numFmt: '[m]:ss', change: (x) => x / 86_400, changeFmt: signed('[m]:ss') };
    case 'count':
      return { cell: (v) => v, numFmt: '#,##0', change: (x) => x, changeFmt: signed('#,##0') };
    default:
      return { cell: (v) => v, numFmt: decimals(d), change: (x) => x, changeFmt: signed(decimals(d)) };
  }
}

/** An Excel sheet name: at most 31 characters, none of : \ / ? * [ ]. */
function sheetName(s: string): string {
  return s.replace(/[:\\/?*[\]]/g, ' ').slice(0, 31).trim() || 'Sheet';
}

/** An instant as the wall-clock time of `timeZone`, as a Date whose UTC fields hold it (Excel has no zones). */
function wallClock(iso: string, timeZone: string): Date {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(new Date(iso))
      .map((p) => [p.type, p.value]),
  );
  return new Date(Date.UTC(+parts.year!, +parts.month! - 1, +parts.day!, +parts.hour!, +parts.minute!, +parts.second!));
}

export interface WorkbookInput {
  metrics: MetricsJson;
  report: ReportDef;
  /** Default: the report definition's. */
  locale?: Locale;
  /** The report's templates folder (its locale files override the words, as for the PDF). */
  templatesDir?: string;
}

/** The workbook of a report, as the bytes of an .xlsx file. */
export async function buildWorkbook(input: WorkbookInput): Promise<Uint8Array> {
  const locale = input.locale ?? input.report.locale;
  const messages = loadMessages(locale, input.templatesDir);
  const model = buildReportModel(input.metrics, input.report, locale, messages);
  return workbookOfModel(model, input.metrics);
}

/** The workbook of a report model (the metrics.json it was built from gives the raw data-quality counts). */
export async function workbookOfModel(model: ReportModel, metrics: MetricsJson): Promise<Uint8Array> {
  const t = (key: string, params?: Record<string, unknown>) => msg(model.messages, model.locale, key, params);
  const pp = t('units.pp');
  const wb = new ExcelJS.Workbook();
  wb.creator = 'CRM service report';
  // A team's (or channel's) workbook says whose figures it holds: its title, the Summary's value
  // column and the Trend's indicator column name the segment, and a last column gives the company's.
  const scope = model.scope;
  const scoped = (header: string) => (scope ? `${header} (${scope.label})` : header);
  wb.title = [model.title, scope?.label, model.period.label].filter(Boolean).join(' — ');
  wb.created = new Date(metrics.generatedAt);
  wb.modified = new Date(metrics.generatedAt);
  const list: IndicatorModel[] = Object.values(model.indicators);
  const fmt = new Map(list.map((i) => [i.id, unitFormat(i, pp)]));

  const sheet = (name: string, columns: { header: string; width: number }[], frozenColumns: number) => {
    const ws = wb.addWorksheet(sheetName(name), { views: [{ state: 'frozen', xSplit: frozenColumns, ySplit: 1 }] });
    ws.columns = columns.map((c) => ({ header: c.header, width: c.width }));
    const head = ws.getRow(1);
    head.font = { bold: true };
    head.alignment = { vertical: 'middle', wrapText: true };
    head.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFEFF2F5' } };
    return ws;
  };
  const num = (cell: ExcelJS.Cell, v: number | null, numFmt: string) => {
    if (v === null || !Number.isFinite(v)) return;
    cell.value = v;
    cell.numFmt = numFmt;
  };
  const status = (cell: ExcelJS.Cell, s: Status, word: string) => {
    cell.value = word;
    cell.font = { color: { argb: STATUS_ARGB[s] }, bold: s === 'missed' };
  };

  // Summary
  const summary = sheet(
    t('workbook.sheetSummary'),
    [
      { header: t('workbook.colId'), width: 26 },
      { header: t('labels.colIndicator'), width: 40 },
      { header: t('workbook.colCategory'), width: 18 },
      { header: scoped(t('labels.colValue')), width: scope ? 22 : 12 },
      { header: t('labels.colTarget'), width: 12 },
      { header: t('labels.colStatus'), width: 14 },
      { header: t('labels.previous'), width: 14 },
      { header: t('labels.change'), width: 12 },
      { header: t('labels.yearAgo'), width: 14 },
      { header: t('labels.colN'), width: 10 },
      { header: t('workbook.colLowSample'), width: 10 },
      ...(scope ? [{ header: t('labels.company'), width: 12 }] : []),
    ],
    2,
  );
  for (const i of list) {
    const f = fmt.get(i.id)!;
    const row = summary.addRow([i.id, i.name, i.categoryName]);
    num(row.getCell(4), i.value === null ? null : f.cell(i.value), f.numFmt);
    num(row.getCell(5), i.target === null ? null : f.cell(i.target), f.numFmt);
    status(row.getCell(6), i.status, i.statusWord);
    num(row.getCell(7), i.previous === null ? null : f.cell(i.previous), f.numFmt);
    num(row.getCell(8), i.value === null || i.previous === null ? null : f.change(i.value - i.previous), f.changeFmt);
    num(row.getCell(9), i.yearAgo === null ? null : f.cell(i.yearAgo), f.numFmt);
    num(row.getCell(10), i.n, '#,##0');
    if (i.lowSample) row.getCell(11).value = '*';
    if (scope && i.company) num(row.getCell(12), i.company.value === null ? null : f.cell(i.company.value), f.numFmt);
  }

  // Trend: the window of the first indicator (every indicator shares it)
  const months = list[0]?.trend.map((p) => p.period) ?? [];
  const trend = sheet(
    t('workbook.sheetTrend'),
    [{ header: t('workbook.colId'), width: 26 }, { header: scoped(t('labels.colIndicator')), width: 40 }, ...months.map((m) => ({ header: formatMonthYearShort(m, model.locale), width: 11 }))],
    2,
  );
  for (const i of list) {
    const f = fmt.get(i.id)!;
    const row = trend.addRow([i.id, i.name]);
    const byPeriod = new Map(i.trend.map((p) => [p.period, p.value]));
    months.forEach((m, k) => {
      const v = byPeriod.get(m) ?? null;
      num(row.getCell(3 + k), v === null ? null : f.cell(v), f.numFmt);
    });
  }

  // Breakdowns: one sheet per kind the report shows (none in a team's workbook: its segments are empty)
  for (const kind of scope ? [] : model.breakdownKinds) {
    const ws = sheet(
      t(`segments.${kind}Title`),
      [
        { header: t('workbook.colId'), width: 26 },
        { header: t('labels.colIndicator'), width: 40 },
        { header: t(`segments.${kind}`), width: 24 },
        { header: t('labels.colValue'), width: 12 },
        { header: t('labels.colN'), width: 10 },
        { header: t('labels.colStatus'), width: 14 },
        { header: t('workbook.colLowSample'), width: 10 },
      ],
      3,
    );
    for (const i of list) {
      const f = fmt.get(i.id)!;
      for (const r of i.breakdowns.find((b) => b.kind === kind)?.rows ?? []) {
        const row = ws.addRow([i.id, i.name, r.label]);
        num(row.getCell(4), r.value === null ? null : f.cell(r.value), f.numFmt);
        num(row.getCell(5), r.n, '#,##0');
        status(row.getCell(6), r.status, r.statusWord);
        if (r.lowSample) row.getCell(7).value = '*';
      }
    }
  }

  // Data quality: the raw counts of metrics.json, the words of the model
  const tables = TABLES.filter((tb) => metrics.dataQuality?.[tb]);
  const reasons = REJECT_REASONS.filter((r) => tables.some((tb) => (metrics.dataQuality[tb].rejected[r] ?? 0) > 0));
  const dq = sheet(
    t('labels.dataQualityTitle'),
    [
      { header: t('labels.dqTable'), width: 16 },
      { header: t('labels.dqState'), width: 14 },
      { header: t('labels.dqRowsRead'), width: 12 },
      { header: t('labels.dqDuplicates'), width: 14 },
      { header: t('labels.dqRejected'), width: 12 },
      { header: t('labels.dqUsed'), width: 14 },
      { header: t('labels.dqNewest'), width: 18 },
      ...reasons.map((r) => ({ header: `${t('labels.dqRejected')}: ${t(`reasons.${r}`)}`, width: 18 })),
    ],
    1,
  );
  for (const table of tables) {
    const q = metrics.dataQuality[table];
    const m = model.dataQuality.tables.find((x) => x.table === table);
    const row = dq.addRow([m?.name ?? t(`tables.${table}`), m?.stateWord ?? '']);
    if (q.present) {
      num(row.getCell(3), q.rowsRead, '#,##0');
      num(row.getCell(4), q.duplicatesDropped, '#,##0');
      num(row.getCell(5), Object.values(q.rejected).reduce<number>((a, b) => a + (b ?? 0), 0), '#,##0');
      num(row.getCell(6), q.recordsUsed, '#,##0');
      if (q.newestUpdatedAt) {
        row.getCell(7).value = wallClock(q.newestUpdatedAt, model.period.timezone);
        row.getCell(7).numFmt = 'yyyy-mm-dd hh:mm';
      }
      reasons.forEach((r, k) => num(row.getCell(8 + k), q.rejected[r] ?? 0, '#,##0'));
    }
  }

  return new Uint8Array(await wb.xlsx.writeBuffer());
}
