/**
 * The data gate: before anything is rendered or sent, a computed metrics.json is judged against the
 * report's thresholds (the `gate:` block and `staleAfterDays` of config/reports.yaml), from what the
 * metrics job already counted in its one pass (`dataQuality`), never by reading the data again.
 *
 * The report is held when, for a table its indicators read (their declarations, indicators.ts):
 *   table_missing     the table has no export file at all;
 *   table_empty       its files hold no data row;
 *   rejected_share    more than `maxRejectedShare` of its rows were rejected (every reason counts,
 *                     duplicates do not: they are older versions of records that were used);
 *   stale             its newest record is more than `staleAfterDays` whole days older than the
 *                     period's end (the rule the data-quality page uses for "stale"): its feed stopped;
 * or for the report as a whole:
 *   data_ends_early   the newest record of all its tables lies more than `dataEndToleranceHours`
 *                     (default 24) before the period's end: the last day's export has not arrived.
 *                     Judged on the export as a whole, not per table, because a sparse table
 *                     (complaints, new customers) can go days without a record in a complete
 *                     export; a single table whose feed stops is caught by `stale`;
 *   period_not_ended  the clock has not reached the period's end in the report's time zone (the
 *                     bounds in metrics.json are that zone's midnights); the checks against the
 *                     end are then skipped, they would all fail.
 *
 * Pure: the clock comes in as `now`.
 */
import type { ReportDef } from '../pipeline/reportsConfig.js';
import { TABLES, type TableName } from '../pipeline/contract.js';
import { INDICATORS, indicatorDef, tablesOf } from './indicators.js';
import type { GateReason, GateResult, MetricsJson, TableQuality } from './schema.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The canonical tables a report's indicators read, in contract order. */
export function neededTables(report: Pick<ReportDef, 'indicators'>): TableName[] {
  const defs = report.indicators ? report.indicators.map(indicatorDef) : INDICATORS;
  const used = new Set(defs.flatMap(tablesOf));
  return TABLES.filter((t) => used.has(t));
}

/** Rows of a table rejected for any reason (duplicates are not rejections). */
export function rejectedRows(q: TableQuality): number {
  return Object.values(q.rejected).reduce<number>((a, b) => a + (b ?? 0), 0);
}

export interface GateOptions {
  /** The clock. */
  now: Date;
  /** Rendered anyway: recorded in the verdict. */
  allowIncomplete?: boolean;
  /**
   * The tables the source provides, when it says so: a source mapping maps some canonical tables
   * and not the others on purpose, so only those are judged (the others' indicators are no_data).
   */
  provided?: ReadonlySet<TableName>;
}

/** The gate's verdict on `metrics` for `report`. */
export function judgeGate(metrics: MetricsJson, report: Pick<ReportDef, 'indicators' | 'staleAfterDays' | 'gate'>, o: GateOptions): GateResult {
  const { now, allowIncomplete = false, provided } = o;
  const tables = neededTables(report).filter((t) => !provided || provided.has(t));
  const endMs = Date.parse(metrics.period.end);
  const ended = now.getTime() >= endMs;
  const reasons: GateReason[] = [];
  if (!ended) reasons.push({ code: 'period_not_ended' });
  let newestMs: number | null = null;
  for (const table of tables) {
    const q = metrics.dataQuality[table];
    if (!q.present) {
      reasons.push({ code: 'table_missing', table });
      continue;
    }
    if (q.rowsRead === 0) {
      reasons.push({ code: 'table_empty', table });
      continue;
    }
    const rejected = rejectedRows(q);
    const share = rejected / q.rowsRead;
    if (share > report.gate.maxRejectedShare) {
      reasons.push({ code: 'rejected_share', table, rejected, rowsRead: q.rowsRead, share, limit: report.gate.maxRejectedShare });
    }
    if (q.newestUpdatedAt === null) continue; // no record used: the share above says why
    const newest = Date.parse(q.newestUpdatedAt);
    newestMs = Math.max(newestMs ?? newest, newest);
    const gap = endMs - newest;
    if (ended && Math.floor(gap / DAY) > report.staleAfterDays) {
      reasons.push({ code: 'stale', table, newest: q.newestUpdatedAt, hoursBeforeEnd: gap / HOUR, limit: report.staleAfterDays });
    }
  }
  if (ended && newestMs !== null && endMs - newestMs > report.gate.dataEndToleranceHours * HOUR) {
    reasons.push({ code: 'data_ends_early', newest: new Date(newestMs).toISOString(), hoursBeforeEnd: (endMs - newestMs) / HOUR, limit: report.gate.dataEndToleranceHours });
  }
  return { held: reasons.length > 0, allowIncomplete: allowIncomplete && reasons.length > 0, tables, reasons };
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const hours = (h: number) => (h >= 48 ? `${(h / 24).toFixed(1)} days` : `${h.toFixed(1)} h`);

/** One line of English for the console and the ops notice: the table, what is wrong, the figures. */
export function describeGateReason(r: GateReason, metrics: Pick<MetricsJson, 'period'>): string {
  const t = r.table ?? '';
  switch (r.code) {
    case 'period_not_ended':
      return `period ${metrics.period.id} has not ended yet: it ends ${metrics.period.end} (${metrics.period.timezone} midnight)`;
    case 'table_missing':
      return `${t}: no export files (the report's indicators read this table)`;
    case 'table_empty':
      return `${t}: its files hold no data rows`;
    case 'rejected_share':
      return `${t}: ${r.rejected} of ${r.rowsRead} rows rejected (${pct(r.share!)}), more than the ${pct(r.limit!)} allowed (gate.maxRejectedShare)`;
    case 'stale':
      return `${t}: stale, newest record ${r.newest} is ${hours(r.hoursBeforeEnd!)} before the period's end (staleAfterDays ${r.limit})`;
    case 'data_ends_early':
      return `data ends before the period does: the newest record of any table, ${r.newest}, is ${hours(r.hoursBeforeEnd!)} before ${metrics.period.end} (gate.dataEndToleranceHours ${r.limit})`;
  }
}

/**
 * The console summary: one line per table (needed or not), then the verdict and every reason.
 * The lines carry no trailing newline.
 */
export function gateSummary(metrics: MetricsJson, gate: GateResult): string[] {
  const width = Math.max(...TABLES.map((t) => t.length));
  const lines = TABLES.map((t) => {
    const q = metrics.dataQuality[t];
    const needed = gate.tables.includes(t);
    const mine = gate.reasons.filter((r) => r.table === t).map((r) => r.code);
    const verdict = !needed ? 'not judged (not read by this report, or not in the mapping)' : mine.length ? `HELD (${mine.join(', ')})` : 'ok';
    const facts = !q.present
      ? 'no files'
      : `${plural(q.rowsRead, 'row')} read, ${rejectedRows(q)} rejected${q.rowsRead ? ` (${pct(rejectedRows(q) / q.rowsRead)})` : ''}, ${plural(q.recordsUsed, 'record')} used, newest ${q.newestUpdatedAt ?? 'none'}`;
    return `  ${t.padEnd(width)}  ${facts}: ${verdict}`;
  });
  if (!gate.held) return [...lines, `gate: passed for ${metrics.reportId} ${metrics.period.id}`];
  return [
    ...lines,
    `gate: ${metrics.reportId} ${metrics.period.id} ${gate.allowIncomplete ? 'is INCOMPLETE (rendered anyway: --allow-incomplete)' : 'HELD'}, ${gate.reasons.length} reason${gate.reasons.length === 1 ? '' : 's'}:`,
    ...gate.reasons.map((r) => `  - ${describeGateReason(r, metrics)}`),
  ];
}

/** A report held by the gate: nothing was rendered or written over the last good report. */
export class ReportHeldError extends Error {
  override name = 'ReportHeldError';
  constructor(
    readonly gate: GateResult,
    message: string,
  ) {
    super(message);
  }
}
