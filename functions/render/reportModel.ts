/**
 * metrics.json + report definition + locale -> the report model the templates render. Pure: no
 * I/O beyond the built-in message files; every number shown on the page is formatted here (or by
 * the chart helpers, from the same formatters), so templates only place text.
 */
import { shiftPeriod } from '../pipeline/period.js';
import { reportTitle, type Locale, type ReportDef } from '../pipeline/reportsConfig.js';
import { EMPTY, fractionDigits, formatChange, formatDate, formatDateRange, formatDateTime, formatDateTimeShort, formatInt, formatMonthYearShort, formatPeriod, formatShare, formatValue } from './format.js';
import { builtinMessages, msg, type Messages } from './messages.js';
import { CATEGORIES, type Category, type Direction, type IndicatorDeclaration as IndicatorDef } from '../metrics/declare.js';
import { INDICATORS } from '../metrics/indicators.js';
import { type IndicatorResult, type MetricsJson, type Status, type TrendPoint } from '../metrics/schema.js';
import { REJECT_REASONS, type RejectReason, type SegmentKind, TABLES, type TableName } from '../pipeline/contract.js';

export type Tone = 'good' | 'bad' | 'neutral';
export type Arrow = 'up' | 'down' | 'flat' | 'none';

export interface ChangeModel {
  text: string;
  arrow: Arrow;
  tone: Tone;
  /** The tone as a word for readers who cannot tell colours apart: "better", "worse". */
  toneWord: string;
}

export interface SegmentRow {
  name: string;
  /** The name shown: the CRM string itself, or the localized word for "unassigned". */
  label: string;
  value: number | null;
  valueText: string;
  n: number;
  nText: string;
  status: Status;
  statusWord: string;
  lowSample: boolean;
}

export interface BreakdownModel {
  kind: SegmentKind;
  title: string;
  column: string;
  rows: SegmentRow[];
}

export interface TrendModelPoint extends TrendPoint {
  valueText: string;
  lowSample: boolean;
}

export interface IndicatorModel {
  id: string;
  name: string;
  category: Category;
  categoryName: string;
  unit: IndicatorDef['unit'];
  direction: Direction;
  directionText: string;
  value: number | null;
  valueText: string;
  n: number;
  nText: string;
  target: number | null;
  targetText: string;
  warn: number | null;
  warnText: string;
  status: Status;
  statusWord: string;
  lowSample: boolean;
  previous: number | null;
  previousText: string;
  /** The value for the same month a year earlier (P-12). */
  yearAgo: number | null;
  yearAgoText: string;
  change: ChangeModel;
  trend: TrendModelPoint[];
  trendCaption: string;
  breakdowns: BreakdownModel[];
  definition: { population: string; value: string };
}

export interface CategoryModel {
  id: Category;
  name: string;
  indicators: IndicatorModel[];
  /** Indicators with at least one breakdown table (shown as wide cards). */
  withBreakdowns: IndicatorModel[];
  /** Indicators without breakdowns (shown as small chart cards, two to a row). */
  withoutBreakdowns: IndicatorModel[];
}

export interface HighlightGroup {
  title: string;
  items: { text: string; tone: Tone }[];
}

export interface TableQualityModel {
  table: TableName;
  name: string;
  present: boolean;
  rowsReadText: string;
  duplicatesText: string;
  rejectedText: string;
  rejected: { reason: string; countText: string }[];
  recordsUsedText: string;
  newestText: string;
  state: 'fresh' | 'stale' | 'missing' | 'empty';
  stateWord: string;
  warning: string | null;
  /** Optional columns no file of the table has (the indicators reading them show no data). */
  missingColumns: string[];
  /** The sentence naming those columns and the indicators they silence; null when none is missing. */
  missingColumnsText: string | null;
  /** Raw exports of the table that could not be imported (their rows are missing from the report). */
  failedFiles: string[];
  /** The sentence naming those files; null when none failed. */
  failedFilesText: string | null;
}

export interface StatusCount {
  status: Status;
  word: string;
  count: number;
}

export interface ReportModel {
  locale: Locale;
  reportId: string;
  title: string;
  organisation: string;
  period: { id: string; label: string; previousLabel: string; timezone: string; startText: string; endText: string; rangeText: string };
  generatedAtText: string;
  messages: Messages;
  minSample: number;
  sla: { firstResponseHours: number; complaintResolutionHours: number };
  statusCounts: StatusCount[];
  total: number;
  categories: CategoryModel[];
  indicators: Record<string, IndicatorModel>;
  highlights: HighlightGroup[];
  dataQuality: {
    tables: TableQualityModel[];
    /** Rejected records as a matrix: one row per reason that occurs, one count per table (columns = tables). */
    reasons: { reason: string; counts: string[] }[];
    staleAfterDays: number;
    warnings: string[];
  };
  breakdownKinds: SegmentKind[];
}

const STATUS_ORDER: Status[] = ['met', 'at_risk', 'missed', 'no_target', 'no_data'];

function toneOf(direction: Direction, diff: number): Tone {
  if (direction === 'neutral' || diff === 0) return 'neutral';
  return (diff > 0) === (direction === 'higher') ? 'good' : 'bad';
}

/** Worst first: lowest value for higher-is-better, highest for lower-is-better, largest for neutral; nulls last. */
export function worstFirst(direction: Direction) {
  return (a: { value: number | null; label: string }, b: { value: number | null; label: string }): number => {
    if (a.value === null || b.value === null) return a.value === null ? (b.value === null ? a.label.localeCompare(b.label) : 1) : -1;
    const d = direction === 'higher' ? a.value - b.value : b.value - a.value;
    return d !== 0 ? d : a.label.localeCompare(b.label);
  };
}

export function buildReportModel(metrics: MetricsJson, report: ReportDef, locale: Locale = report.locale, messages: Messages = builtinMessages(locale)): ReportModel {
  const t = (key: string, params?: Record<string, unknown>) => msg(messages, locale, key, params);
  const minSample = metrics.settings?.minSample ?? 30;
  const sla = metrics.settings?.sla ?? { firstResponseHours: 8, complaintResolutionHours: 72 };
  const tz = metrics.period.timezone;
  const ppTemplate = t('units.pp');
  const wanted = report.indicators ? new Set(report.indicators) : null;
  const defs = INDICATORS.filter((d) => !wanted || wanted.has(d.id));
  const breakdownKinds = report.breakdowns;

  const indicators: Record<string, IndicatorModel> = {};
  for (const def of defs) {
    const r: IndicatorResult | undefined = metrics.indicators[def.id];
    if (!r) throw new Error(`metrics.json has no indicator "${def.id}"`);
    indicators[def.id] = indicatorModel(def, r);
  }

  function indicatorModel(def: IndicatorDef, r: IndicatorResult): IndicatorModel {
    const direction = r.direction ?? def.direction;
    const rawDiff = r.value !== null && r.previous !== null ? r.value - r.previous : null;
    // A change that rounds to zero on the page is shown as no change (flat, neutral).
    const scale = 10 ** fractionDigits(def);
    const diff = rawDiff === null ? null : Math.round(rawDiff * scale) === 0 ? 0 : rawDiff;
    const tone = diff === null ? 'neutral' : toneOf(direction, diff);
    const change: ChangeModel = {
      text: formatChange(def.id, r.value, r.previous, locale, ppTemplate),
      arrow: diff === null ? 'none' : diff > 0 ? 'up' : diff < 0 ? 'down' : 'flat',
      tone,
      toneWord: diff === null || tone === 'neutral' ? '' : t(`tones.${tone}`),
    };
    const trend = r.trend.map((p) => ({ ...p, valueText: formatValue(def.id, p.value, locale), lowSample: p.value !== null && p.n < minSample }));
    const first = trend[0]?.period ?? metrics.period.id;
    const last = trend[trend.length - 1]?.period ?? metrics.period.id;
    const breakdowns: BreakdownModel[] = def.breakdowns
      .filter((k) => breakdownKinds.includes(k))
      .map((kind) => {
        const rows: SegmentRow[] = Object.entries(metrics.segments?.[kind] ?? {})
          .filter(([, byId]) => byId[def.id] !== undefined)
          .map(([name, byId]) => {
            // Status and low sample as the metrics stage judged them (functions/metrics/status.ts).
            const s = byId[def.id]!;
            return {
              name,
              label: name === 'unassigned' ? t('segments.unassigned') : name,
              value: s.value,
              valueText: formatValue(def.id, s.value, locale),
              n: s.n,
              nText: formatInt(s.n, locale),
              status: s.status,
              statusWord: t(`status.${s.status}`),
              lowSample: s.lowSample && s.value !== null,
            };
          })
          .sort(worstFirst(direction));
        return { kind, title: t(`segments.${kind}Title`), column: t(`segments.${kind}`), rows };
      });
    const defParams = { ...sla, minSample };
    // A neutral indicator never shows a target, whatever a targets file says.
    const target = direction === 'neutral' ? null : r.target;
    const warn = direction === 'neutral' ? null : r.warn;
    return {
      id: def.id,
      name: t(`indicators.${def.id}.name`),
      category: def.category,
      categoryName: t(`categories.${def.category}`),
      unit: def.unit,
      direction,
      directionText: t(`direction.${direction}`),
      value: r.value,
      valueText: formatValue(def.id, r.value, locale),
      n: r.n,
      nText: formatInt(r.n, locale),
      target,
      targetText: formatValue(def.id, target, locale),
      warn,
      warnText: formatValue(def.id, warn, locale),
      status: r.status,
      statusWord: t(`status.${r.status}`),
      // "*" marks a figure resting on few cases; a missing figure (n = 0) has nothing to mark.
      lowSample: r.lowSample && r.value !== null,
      previous: r.previous,
      previousText: formatValue(def.id, r.previous, locale),
      yearAgo: r.yearAgo,
      yearAgoText: formatValue(def.id, r.yearAgo, locale),
      change,
      trend,
      trendCaption: t('labels.trendCaption', { from: formatMonthYearShort(first, locale), to: formatMonthYearShort(last, locale) }),
      breakdowns,
      definition: { population: t(`indicators.${def.id}.population`, defParams), value: t(`indicators.${def.id}.value`, defParams) },
    };
  }

  const list = Object.values(indicators);
  const categories: CategoryModel[] = CATEGORIES.map((c) => {
    const inds = list.filter((i) => i.category === c);
    return {
      id: c,
      name: t(`categories.${c}`),
      indicators: inds,
      withBreakdowns: inds.filter((i) => i.breakdowns.length > 0),
      withoutBreakdowns: inds.filter((i) => i.breakdowns.length === 0),
    };
  }).filter((c) => c.indicators.length > 0);

  const statusCounts = STATUS_ORDER.map((status) => ({ status, word: t(`status.${status}`), count: list.filter((i) => i.status === status).length }));
  const previousId = shiftPeriod(metrics.period.id, -1);
  const dataQuality = dataQualityModel();

  function dataQualityModel(): ReportModel['dataQuality'] {
    const endMs = Date.parse(metrics.period.end);
    const tables = TABLES.filter((tb) => metrics.dataQuality?.[tb]).map((table): TableQualityModel => {
      const q = metrics.dataQuality[table];
      const rejectedTotal = Object.values(q.rejected).reduce<number>((a, b) => a + (b ?? 0), 0);
      const name = t(`tables.${table}`);
      let state: TableQualityModel['state'] = 'fresh';
      let warning: string | null = null;
      if (!q.present) {
        state = 'missing';
        warning = t('highlights.tableMissing', { table: name });
      } else if (q.recordsUsed === 0 || q.newestUpdatedAt === null) {
        state = 'empty';
        warning = t('highlights.tableEmpty', { table: name });
      } else {
        const days = Math.floor((endMs - Date.parse(q.newestUpdatedAt)) / 86_400_000);
        if (days > report.staleAfterDays) {
          state = 'stale';
          warning = t('highlights.tableStale', { table: name, date: formatDate(q.newestUpdatedAt, tz, locale), days: formatInt(days, locale), count: days, threshold: report.staleAfterDays });
        }
      }
      const missingColumns = q.present ? q.missingColumns : [];
      // The report's indicators whose definitions read one of those columns (`reads` in indicators.ts).
      const silenced = defs.filter((d) => d.reads?.some((qc) => missingColumns.some((c) => qc === `${table}.${c}`))).map((d) => t(`indicators.${d.id}.name`));
      const missingColumnsText = missingColumns.length
        ? [
            t('labels.dqMissingColumns', { table: name, columns: missingColumns.join(t('labels.listSeparator')), count: missingColumns.length }),
            ...(silenced.length ? [t('labels.dqMissingColumnsNoData', { names: silenced.join(t('labels.listSeparator')), count: silenced.length })] : []),
          ].join(t('labels.sentenceSeparator'))
        : null;
      const failedFiles = (q.failedFiles ?? []).map((f) => f.file);
      const failedFilesText = failedFiles.length
        ? t('labels.dqFailedFiles', { table: name, files: failedFiles.join(t('labels.listSeparator')), count: failedFiles.length })
        : null;
      return {
        table,
        name,
        present: q.present,
        rowsReadText: q.present ? formatInt(q.rowsRead, locale) : EMPTY,
        duplicatesText: q.present ? formatInt(q.duplicatesDropped, locale) : EMPTY,
        rejectedText: q.present ? formatInt(rejectedTotal, locale) : EMPTY,
        rejected: (Object.entries(q.rejected) as [RejectReason, number][])
          .filter(([, n]) => n > 0)
          .sort((a, b) => b[1] - a[1])
          .map(([reason, n]) => ({ reason: t(`reasons.${reason}`), countText: formatInt(n, locale) })),
        recordsUsedText: q.present ? formatInt(q.recordsUsed, locale) : EMPTY,
        newestText: q.newestUpdatedAt ? formatDateTimeShort(q.newestUpdatedAt, tz, locale) : EMPTY,
        state,
        stateWord: t(`labels.dq_${state}`),
        warning,
        missingColumns,
        missingColumnsText,
        failedFiles,
        failedFilesText,
      };
    });
    const reasons = REJECT_REASONS.filter((r) => tables.some((tb) => (metrics.dataQuality[tb.table].rejected[r] ?? 0) > 0)).map((r) => ({
      reason: t(`reasons.${r}`),
      counts: tables.map((tb) => (metrics.dataQuality[tb.table].present ? formatInt(metrics.dataQuality[tb.table].rejected[r] ?? 0, locale) : EMPTY)),
    }));
    const warnings = [
      ...tables.flatMap((x) => (x.failedFilesText ? [x.failedFilesText] : [])),
      ...tables.flatMap((x) => (x.warning ? [x.warning] : [])),
      ...tables.flatMap((x) => (x.missingColumnsText ? [x.missingColumnsText] : [])),
    ];
    return { tables, reasons, staleAfterDays: report.staleAfterDays, warnings };
  }

  const names = (xs: IndicatorModel[]) => xs.map((i) => i.name).join(t('labels.listSeparator'));
  const highlights: HighlightGroup[] = [];
  const count = (s: Status) => statusCounts.find((c) => c.status === s)!.count;
  {
    const items: HighlightGroup['items'] = [
      { text: t('highlights.status', { met: count('met'), atRisk: count('at_risk'), missed: count('missed'), total: list.length - count('no_target') - count('no_data') }), tone: count('missed') > 0 ? 'bad' : 'good' },
    ];
    const missed = list.filter((i) => i.status === 'missed');
    const atRisk = list.filter((i) => i.status === 'at_risk');
    if (missed.length) items.push({ text: t('highlights.missedList', { names: names(missed) }), tone: 'bad' });
    if (atRisk.length) items.push({ text: t('highlights.atRiskList', { names: names(atRisk) }), tone: 'bad' });
    const noData = list.filter((i) => i.status === 'no_data');
    if (noData.length) items.push({ text: t('highlights.noData', { count: noData.length, names: names(noData) }), tone: 'neutral' });
    highlights.push({ title: t('highlights.statusTitle'), items });
  }
  {
    const changes = list
      .filter((i) => i.value !== null && i.previous !== null && i.value !== i.previous)
      .map((i) => ({ i, score: changeScore(i) }))
      .sort((a, b) => b.score - a.score);
    const pick = (tone: Tone, max: number) => changes.filter((c) => c.i.change.tone === tone).slice(0, max);
    const chosen = [...pick('good', 3), ...pick('bad', 3), ...pick('neutral', 1)].sort((a, b) => b.score - a.score);
    const items = chosen.map(({ i }) => ({
      text: t(`highlights.${i.change.tone === 'good' ? 'improved' : i.change.tone === 'bad' ? 'worsened' : 'changed'}`, { name: i.name, from: i.previousText, to: i.valueText, change: i.change.text }),
      tone: i.change.tone,
    }));
    if (!items.length) items.push({ text: t('highlights.noChanges'), tone: 'neutral' });
    highlights.push({ title: t('highlights.changesTitle', { previous: formatPeriod(previousId, locale) }), items });
  }
  {
    const low = list.filter((i) => i.lowSample && i.value !== null);
    const items: HighlightGroup['items'] = low.map((i) => ({ text: t('highlights.lowSample', { name: i.name, n: i.nText, count: minSample, minSample }), tone: 'neutral' as Tone }));
    const lowSegments = list.reduce((a, i) => a + i.breakdowns.reduce((b, bd) => b + bd.rows.filter((r) => r.lowSample && r.value !== null).length, 0), 0);
    if (lowSegments > 0) items.push({ text: t('highlights.lowSampleSegments', { count: lowSegments, minSample }), tone: 'neutral' });
    if (!items.length) items.push({ text: t('highlights.noLowSample', { minSample, count: minSample }), tone: 'good' });
    highlights.push({ title: t('highlights.lowSampleTitle'), items });
  }
  {
    const items: HighlightGroup['items'] = dataQuality.warnings.map((w) => ({ text: w, tone: 'bad' as Tone }));
    for (const q of dataQuality.tables) {
      const raw = metrics.dataQuality[q.table];
      const rejected = Object.values(raw.rejected).reduce<number>((a, b) => a + (b ?? 0), 0);
      if (raw.present && raw.rowsRead > 0 && rejected / raw.rowsRead >= 0.005) {
        items.push({ text: t('highlights.tableRejected', { table: q.name, rejected: formatInt(rejected, locale), rowsRead: formatInt(raw.rowsRead, locale), share: formatShare(rejected / raw.rowsRead, locale) }), tone: 'neutral' });
      }
    }
    if (!items.length) items.push({ text: t('highlights.dataOk'), tone: 'good' });
    highlights.push({ title: t('highlights.dataTitle'), items });
  }

  return {
    locale,
    reportId: report.id,
    title: reportTitle(report, locale),
    organisation: report.organisation,
    period: {
      id: metrics.period.id,
      label: formatPeriod(metrics.period.id, locale),
      previousLabel: formatPeriod(previousId, locale),
      timezone: tz,
      startText: formatDateTime(metrics.period.start, tz, locale),
      endText: formatDateTime(metrics.period.end, tz, locale),
      rangeText: formatDateRange(metrics.period.start, metrics.period.end, tz, locale),
    },
    generatedAtText: formatDateTime(metrics.generatedAt, tz, locale),
    messages,
    minSample,
    sla,
    statusCounts,
    total: list.length,
    categories,
    indicators,
    highlights,
    dataQuality,
    breakdownKinds,
  };
}

/**
 * How remarkable a change is: its size against the indicator's usual month-to-month movement
 * over the trend (so a 2-point move in a volatile rate ranks below a 2-point move in a steady
 * one), falling back to the relative change when the history is too short.
 */
function changeScore(i: IndicatorModel): number {
  const diff = Math.abs(i.value! - i.previous!);
  const vals = i.trend.map((p) => p.value);
  const moves: number[] = [];
  for (let k = 1; k < vals.length - 1; k++) {
    const a = vals[k - 1];
    const b = vals[k];
    if (a !== null && a !== undefined && b !== null && b !== undefined) moves.push(Math.abs(b - a));
  }
  const typical = moves.length >= 3 ? moves.reduce((a, b) => a + b, 0) / moves.length : 0;
  if (typical > 0) return diff / typical;
  return diff / Math.max(Math.abs(i.previous!), 1e-9);
}
