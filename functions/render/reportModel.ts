/**
 * metrics.json + report definition + locale -> the report model the templates render. Pure: no
 * I/O beyond the built-in message files; every number shown on the page is formatted here (or by
 * the chart helpers, from the same formatters), so templates only place text.
 */
import { shiftPeriod } from '../pipeline/period.js';
import { reportTitle, type Locale, type ReportDef } from '../pipeline/reportsConfig.js';
import { changeRoundsToZero, EMPTY, formatChange, formatDate, formatDateRange, formatDateTime, formatDateTimeShort, formatInt, formatMonthYearShort, formatPeriod, formatShare, formatValue } from './format.js';
import { builtinMessages, lookup, msg, type Messages } from './messages.js';
import { renderCommentary } from './commentary.js';
import { driverOf } from './driver.js';
import { CATEGORIES, type Category, type Direction, type IndicatorDeclaration as IndicatorDef } from '../metrics/declare.js';
import { INDICATORS, tablesOf } from '../metrics/indicators.js';
import { type IndicatorResult, type MetricsJson, type Status, type TrendPoint } from '../metrics/schema.js';
import { REJECT_REASONS, type RejectReason, type SegmentKind, TABLES, type TableName } from '../pipeline/contract.js';
import { incompleteReasons } from './incomplete.js';

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
  /** The segment's share of the indicator's total (count indicators only, e.g. ticket volume). */
  shareText: string;
}

export interface BreakdownModel {
  kind: SegmentKind;
  title: string;
  column: string;
  rows: SegmentRow[];
  /** n is shown unless it repeats the value (a count such as ticket volume). */
  showN: boolean;
  /** Status is shown only when the indicator has a target (else every row would say "No target"). */
  showStatus: boolean;
  /** Each segment's share of the total, for a count. */
  showShare: boolean;
  /** How the rows are ordered: "worst first", or "largest first" for an indicator that is neither good nor bad. */
  orderText: string;
}

/** The team or channel that drove an indicator's change since the previous month (functions/render/driver.ts defines it). */
export interface DriverModel {
  kind: SegmentKind;
  name: string;
  label: string;
  contribution: number;
  contributionText: string;
  /** "Team Billing: -2.1 pp" */
  text: string;
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
  /** The card lists target and warning level only when one is set (a volume has neither). */
  hasTarget: boolean;
  /** The card lists n unless it repeats the value (a count). */
  showCases: boolean;
  status: Status;
  statusWord: string;
  lowSample: boolean;
  previous: number | null;
  previousText: string;
  /** The value for the same month a year earlier (P-12). */
  yearAgo: number | null;
  yearAgoText: string;
  change: ChangeModel;
  /** The change against the same month a year earlier. */
  yoy: ChangeModel;
  driver: DriverModel | null;
  /** A team or channel report (metrics.json `scope`): the company-wide figure beside the segment's own; null otherwise. */
  company: { value: number | null; valueText: string; status: Status; statusWord: string } | null;
  /** Why an indicator without data is not measured (absent table, absent column, no records); null when it has a value. */
  notMeasuredReason: string | null;
  trend: TrendModelPoint[];
  trendCaption: string;
  breakdowns: BreakdownModel[];
  /** Some breakdown has a row (else the card says so in one line instead of empty tables). */
  hasSegmentRows: boolean;
  definition: { population: string; value: string };
}

export interface CategoryModel {
  id: Category;
  name: string;
  indicators: IndicatorModel[];
  /** Indicators with a value and at least one breakdown table (shown as wide cards). */
  withBreakdowns: IndicatorModel[];
  /** Indicators with a value and no breakdowns (shown as small chart cards, two to a row). */
  withoutBreakdowns: IndicatorModel[];
  /** The category's indicators that have a value this month (cards and summary rows). */
  measured: IndicatorModel[];
  /** One sentence listing the indicators without data and why; null when every one has a value. */
  notMeasuredText: string | null;
  /** No indicator of the category has data: the section is that one line. */
  collapsed: boolean;
  /** The first category with cards carries the note on how to read them (the others do not repeat it). */
  showIntro: boolean;
}

export interface VerdictModel {
  /** The month in one sentence: misses, risks and met against target, improvements and deteriorations. */
  text: string;
  tone: 'bad' | 'warn' | 'good' | 'neutral';
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
  /** How many categories have no data at all (each shown as one line). */
  collapsedCount: number;
  indicators: Record<string, IndicatorModel>;
  highlights: HighlightGroup[];
  verdict: VerdictModel;
  /** A team or channel report (metrics.json `scope`): which one, as the cover names it; null for the company. */
  scope: { kind: SegmentKind; value: string; label: string } | null;
  /** The indicators that most need attention: missed first, then the largest deteriorations. */
  attention: IndicatorModel[];
  /** The largest improvements since the previous month (at most ATTENTION_MAX / 2), largest first. */
  improved: IndicatorModel[];
  /** Whether any row of the attention or improvement lists has a driver (else the column is left out). */
  showDrivers: boolean;
  /** Whether a figure of those lists rests on few cases (then page 1 explains the "*"). */
  attentionLowSample: boolean;
  /** Indicators that missed their target but did not fit in the attention list. */
  attentionMoreText: string | null;
  /** The manager's commentary as safe HTML (functions/render/commentary.ts); null when none. */
  commentary: { html: string } | null;
  /** The report's indicators without data, with their reasons, in one sentence; null when none. */
  notMeasuredText: string | null;
  /** For the first page: how many indicators are not measured, pointing to the summary; null when none. */
  notMeasuredShortText: string | null;
  dataQuality: {
    tables: TableQualityModel[];
    /** Rejected records as a matrix: one row per reason that occurs, one count per table (columns = tables). */
    reasons: { reason: string; counts: string[] }[];
    staleAfterDays: number;
    warnings: string[];
  };
  breakdownKinds: SegmentKind[];
  /** Rendered although the data gate held it (--allow-incomplete): its reasons, for the first page; [] otherwise. */
  incomplete: string[];
}

const STATUS_ORDER: Status[] = ['met', 'at_risk', 'missed', 'no_target', 'no_data'];

function toneOf(direction: Direction, diff: number): Tone {
  if (direction === 'neutral' || diff === 0) return 'neutral';
  return (diff > 0) === (direction === 'higher') ? 'good' : 'bad';
}

/**
 * Worst first: lowest value for higher-is-better, highest for lower-is-better, largest for
 * neutral; figures resting on few cases (lowSample) after the others, so a team with n = 1 does
 * not top the table; nulls last.
 */
export function worstFirst(direction: Direction) {
  return (a: { value: number | null; label: string; lowSample?: boolean }, b: { value: number | null; label: string; lowSample?: boolean }): number => {
    if (a.value === null || b.value === null) return a.value === null ? (b.value === null ? a.label.localeCompare(b.label) : 1) : -1;
    if (Boolean(a.lowSample) !== Boolean(b.lowSample)) return a.lowSample ? 1 : -1;
    const d = direction === 'higher' ? a.value - b.value : b.value - a.value;
    return d !== 0 ? d : a.label.localeCompare(b.label);
  };
}

/** How many indicators the first page lists as needing attention. */
export const ATTENTION_MAX = 6;

export interface ReportModelOptions {
  /** The manager's commentary in Markdown (functions/render/commentary.ts reads it); none when absent. */
  commentary?: string | null;
}

export function buildReportModel(
  metrics: MetricsJson,
  report: ReportDef,
  locale: Locale = report.locale,
  messages: Messages = builtinMessages(locale),
  options: ReportModelOptions = {},
): ReportModel {
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

  function changeOf(def: IndicatorDef, direction: Direction, value: number | null, base: number | null): ChangeModel {
    const rawDiff = value !== null && base !== null ? value - base : null;
    // A change that rounds to zero on the page is shown as no change (flat, neutral).
    const diff = rawDiff === null ? null : changeRoundsToZero(def.id, rawDiff) ? 0 : rawDiff;
    const tone = diff === null ? 'neutral' : toneOf(direction, diff);
    return {
      text: formatChange(def.id, value, base, locale, ppTemplate),
      arrow: diff === null ? 'none' : diff > 0 ? 'up' : diff < 0 ? 'down' : 'flat',
      tone,
      toneWord: diff === null || tone === 'neutral' ? '' : t(`tones.${tone}`),
    };
  }

  /** A segment's name as printed: "(unassigned)" for the empty one, a channel word when the locale has it. */
  function segmentLabel(kind: SegmentKind, name: string): string {
    if (name === 'unassigned') return t('segments.unassigned');
    if (kind === 'channel') {
      const word = lookup(messages, `channels.${name.toLowerCase()}`);
      if (typeof word === 'string') return word;
    }
    return name;
  }

  /** The driver of the change (functions/render/driver.ts), as printed; none when the change rounds to zero or is unknown. */
  function driverModel(def: IndicatorDef, r: IndicatorResult, change: ChangeModel): DriverModel | null {
    if (r.value === null || r.previous === null || change.arrow === 'flat' || change.arrow === 'none') return null;
    const best = driverOf(def, Math.sign(r.value - r.previous), metrics.segments, def.breakdowns.filter((k) => breakdownKinds.includes(k)));
    if (!best) return null;
    const label = segmentLabel(best.kind, best.name);
    const contributionText = formatChange(def.id, best.contribution, 0, locale, ppTemplate);
    return {
      kind: best.kind,
      name: best.name,
      label,
      contribution: best.contribution,
      contributionText,
      text: t('attention.driver', { kind: t(`segments.${best.kind}`), segment: label, contribution: contributionText }),
    };
  }

  /** Why an indicator has no value: an absent table, an absent column, an empty table, or no records. */
  function notMeasuredReasonOf(def: IndicatorDef, r: IndicatorResult): string | null {
    if (r.value !== null) return null;
    // A team or channel report: an indicator that is not computed per team (or channel) at all.
    if (r.segmented === false && metrics.scope) return t(`notMeasured.notSegmented_${metrics.scope.kind}`);
    const sep = t('labels.listSeparator');
    const tables = tablesOf(def);
    const absent = tables.filter((tb) => metrics.dataQuality?.[tb] && !metrics.dataQuality[tb].present);
    if (absent.length) return t('notMeasured.tableAbsent', { table: absent.map((tb) => t(`tables.${tb}`)).join(sep), count: absent.length });
    const missing = (def.reads ?? []).filter((qc) => {
      const [tb, col] = qc.split('.') as [TableName, string];
      return metrics.dataQuality?.[tb]?.missingColumns.includes(col);
    });
    if (missing.length) {
      const tb = missing[0]!.split('.')[0] as TableName;
      return t('notMeasured.columnAbsent', { table: t(`tables.${tb}`), columns: missing.map((qc) => qc.split('.')[1]).join(sep), count: missing.length });
    }
    const empty = tables.filter((tb) => metrics.dataQuality?.[tb]?.present && metrics.dataQuality[tb].recordsUsed === 0);
    if (empty.length) return t('notMeasured.tableEmpty', { table: empty.map((tb) => t(`tables.${tb}`)).join(sep), count: empty.length });
    if (r.trend.every((p) => p.value === null)) return t('notMeasured.neverRecorded');
    return t('notMeasured.noneThisMonth');
  }

  function indicatorModel(def: IndicatorDef, r: IndicatorResult): IndicatorModel {
    const direction = r.direction ?? def.direction;
    const change = changeOf(def, direction, r.value, r.previous);
    const trend = r.trend.map((p) => ({ ...p, valueText: formatValue(def.id, p.value, locale), lowSample: p.value !== null && p.n < minSample }));
    const first = trend[0]?.period ?? metrics.period.id;
    const last = trend[trend.length - 1]?.period ?? metrics.period.id;
    const breakdowns: BreakdownModel[] = def.breakdowns
      .filter((k) => breakdownKinds.includes(k))
      .map((kind) => {
        const entries = Object.entries(metrics.segments?.[kind] ?? {}).filter(([, byId]) => byId[def.id] !== undefined);
        const total = entries.reduce((a, [, byId]) => a + (byId[def.id]!.value ?? 0), 0);
        const rows: SegmentRow[] = entries
          .map(([name, byId]) => {
            // Status and low sample as the metrics stage judged them (functions/metrics/status.ts).
            const s = byId[def.id]!;
            return {
              name,
              label: segmentLabel(kind, name),
              value: s.value,
              valueText: formatValue(def.id, s.value, locale),
              n: s.n,
              nText: formatInt(s.n, locale),
              status: s.status,
              statusWord: t(`status.${s.status}`),
              lowSample: s.lowSample && s.value !== null,
              shareText: def.unit === 'count' && s.value !== null && total > 0 ? formatShare(s.value / total, locale) : EMPTY,
            };
          })
          .sort(worstFirst(direction));
        return {
          kind,
          title: t(`segments.${kind}Title`),
          column: t(`segments.${kind}`),
          rows,
          showN: def.unit !== 'count',
          showStatus: direction !== 'neutral' && r.target !== null,
          showShare: def.unit === 'count',
          orderText: t(direction === 'neutral' ? 'labels.largestFirst' : 'labels.worstFirst'),
        };
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
      hasTarget: target !== null || warn !== null,
      showCases: def.unit !== 'count',
      status: r.status,
      statusWord: t(`status.${r.status}`),
      // "*" marks a figure resting on few cases; a missing figure (n = 0) has nothing to mark.
      lowSample: r.lowSample && r.value !== null,
      previous: r.previous,
      previousText: formatValue(def.id, r.previous, locale),
      yearAgo: r.yearAgo,
      yearAgoText: formatValue(def.id, r.yearAgo, locale),
      change,
      yoy: changeOf(def, direction, r.value, r.yearAgo),
      company: r.company ? { value: r.company.value, valueText: formatValue(def.id, r.company.value, locale), status: r.company.status, statusWord: t(`status.${r.company.status}`) } : null,
      driver: driverModel(def, r, change),
      notMeasuredReason: notMeasuredReasonOf(def, r),
      trend,
      trendCaption: t('labels.trendCaption', { from: formatMonthYearShort(first, locale), to: formatMonthYearShort(last, locale) }),
      breakdowns,
      hasSegmentRows: breakdowns.some((b) => b.rows.length > 0),
      definition: { population: t(`indicators.${def.id}.population`, defParams), value: t(`indicators.${def.id}.value`, defParams) },
    };
  }

  const list = Object.values(indicators);
  /** "A, B (reason); C (other reason)": indicators without data grouped by reason, in report order. */
  const notMeasuredSentence = (inds: IndicatorModel[]): string | null => {
    const byReason = new Map<string, string[]>();
    for (const i of inds.filter((x) => x.notMeasuredReason !== null)) byReason.set(i.notMeasuredReason!, [...(byReason.get(i.notMeasuredReason!) ?? []), i.name]);
    if (!byReason.size) return null;
    const groups = [...byReason].map(([reason, names]) => t('notMeasured.group', { names: names.join(t('labels.listSeparator')), reason }));
    return t('notMeasured.sentence', { groups: groups.join(t('notMeasured.groupSeparator')), count: inds.filter((x) => x.notMeasuredReason !== null).length });
  };
  const categories: CategoryModel[] = CATEGORIES.map((c) => {
    const inds = list.filter((i) => i.category === c);
    const measured = inds.filter((i) => i.value !== null);
    return {
      id: c,
      name: t(`categories.${c}`),
      indicators: inds,
      withBreakdowns: measured.filter((i) => i.breakdowns.length > 0),
      withoutBreakdowns: measured.filter((i) => i.breakdowns.length === 0),
      measured,
      notMeasuredText: notMeasuredSentence(inds),
      collapsed: measured.length === 0,
      showIntro: false,
    };
  }).filter((c) => c.indicators.length > 0);
  const firstWithCards = categories.find((c) => !c.collapsed);
  if (firstWithCards) firstWithCards.showIntro = true;

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
    // At risk is between warning level and target: named, but not flagged like a miss (the one loud signal).
    if (atRisk.length) items.push({ text: t('highlights.atRiskList', { names: names(atRisk) }), tone: 'neutral' });
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

  const judged = count('met') + count('at_risk') + count('missed');
  const verdict: VerdictModel = {
    text: t(count('missed') > 0 ? 'verdict.missed' : count('at_risk') > 0 ? 'verdict.atRisk' : judged > 0 ? 'verdict.met' : 'verdict.none', {
      period: formatPeriod(metrics.period.id, locale),
      missed: count('missed'),
      atRisk: count('at_risk'),
      met: count('met'),
      judged,
      count: judged,
      changes: list.some((i) => i.change.arrow !== 'none')
        ? t('verdict.changes', { better: list.filter((i) => i.change.tone === 'good').length, worse: list.filter((i) => i.change.tone === 'bad').length })
        : t('verdict.noChanges'),
    }),
    tone: count('missed') > 0 ? 'bad' : count('at_risk') > 0 ? 'warn' : judged > 0 ? 'good' : 'neutral',
  };
  // Missed first (the largest deterioration first among them), then the other deteriorations, largest first.
  const deterioration = (i: IndicatorModel) => (i.value === null || i.previous === null || i.value === i.previous ? 0 : changeScore(i) * (i.change.tone === 'bad' ? 1 : i.change.tone === 'good' ? -1 : 0));
  const byDeterioration = (a: IndicatorModel, b: IndicatorModel) => deterioration(b) - deterioration(a);
  const missedAll = list.filter((i) => i.status === 'missed').sort(byDeterioration);
  const worsened = list.filter((i) => i.status !== 'missed' && i.value !== null && i.change.tone === 'bad').sort(byDeterioration);
  const attention = [...missedAll, ...worsened].slice(0, ATTENTION_MAX);
  const improved = list.filter((i) => i.value !== null && i.change.tone === 'good' && !attention.includes(i)).sort((a, b) => deterioration(a) - deterioration(b)).slice(0, ATTENTION_MAX / 2);
  const missedLeft = missedAll.length - attention.filter((i) => i.status === 'missed').length;
  const attentionMoreText = missedLeft > 0 ? t('attention.moreMissed', { count: missedLeft, names: names(missedAll.slice(attention.length)) }) : null;

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
    collapsedCount: categories.filter((c) => c.collapsed).length,
    indicators,
    highlights,
    verdict,
    scope: metrics.scope ? { ...metrics.scope, label: t(`labels.scope_${metrics.scope.kind}`, { value: segmentLabel(metrics.scope.kind, metrics.scope.value) }) } : null,
    attention,
    improved,
    showDrivers: [...attention, ...improved].some((i) => i.driver !== null),
    attentionLowSample: [...attention, ...improved].some((i) => i.lowSample),
    attentionMoreText,
    commentary: options.commentary ? { html: renderCommentary(options.commentary) } : null,
    notMeasuredText: notMeasuredSentence(list),
    notMeasuredShortText: list.some((i) => i.notMeasuredReason !== null) ? t('notMeasured.short', { count: list.filter((i) => i.notMeasuredReason !== null).length }) : null,
    dataQuality,
    breakdownKinds,
    incomplete: incompleteReasons(metrics, t, locale),
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
