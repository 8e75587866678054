/**
 * Locale-aware formatting of indicator values, changes, counts and dates with Intl. One place
 * decides how many digits each indicator shows, so the page, the charts and the tests agree.
 */
import type { Locale } from '../pipeline/reportsConfig.js';
import { INDICATOR_BY_ID } from '../metrics/indicators.js';
import { type IndicatorDeclaration as IndicatorDef } from '../metrics/declare.js';
import { builtinMessages, msg } from './messages.js';

export const EMPTY = '—';

/** U+2212, the minus sign: negatives and falls are printed with it, never with a hyphen. */
export const MINUS = '\u2212';

/** Intl's hyphen-minus in a formatted number as the minus sign (dates and words are not passed here). */
function fixMinus(s: string): string {
  return s.replace(/-/g, MINUS);
}

/**
 * Intl puts U+202F (narrow no-break space) in some locales' dates and numbers; neither Noto Sans
 * nor Noto Sans SC has a glyph for it, so it becomes U+00A0 (no-break space), which both have.
 */
function fixSpaces(s: string): string {
  return s.replace(/\u202f/g, '\u00a0');
}

/** Intl formatters are costly to build: one per locale and options. */
function cached<O, F>(make: (locale: string, opts: O) => F): (locale: string, opts: O) => F {
  const cache = new Map<string, F>();
  return (locale, opts) => {
    const key = `${locale}|${JSON.stringify(opts)}`;
    let f = cache.get(key);
    if (!f) cache.set(key, (f = make(locale, opts)));
    return f;
  };
}

const nf = cached((locale, opts: Intl.NumberFormatOptions) => new Intl.NumberFormat(locale, opts));
const dtf = cached((locale, opts: Intl.DateTimeFormatOptions) => new Intl.DateTimeFormat(locale, opts));

/** Fraction digits shown for an indicator's value (values are carried unrounded until here). */
export function fractionDigits(def: Pick<IndicatorDef, 'id' | 'unit'>): number {
  switch (def.unit) {
    case 'count':
      return 0;
    case '%':
    case 'h':
    case 's':
      return 1;
    case 'points':
      return def.id === 'nps' ? 1 : 2;
    case 'score':
    case 'per1000':
      return 2;
  }
}

function numberOptions(def: IndicatorDef, signed: boolean, digits = fractionDigits(def)): Intl.NumberFormatOptions {
  const base: Intl.NumberFormatOptions = {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
    ...(signed ? { signDisplay: 'exceptZero' as const } : {}),
  };
  if (def.unit === '%') return { ...base, style: 'percent' };
  return base;
}

/**
 * Durations (indicator units `h` and `s`) are printed in the unit that suits their size: seconds
 * below a minute, minutes below an hour, hours below two days, days above. The unit words are the
 * locale's messages `units.seconds` … `units.days` (templates/locales/*.json).
 */
export const DURATION_UNITS = ['seconds', 'minutes', 'hours', 'days'] as const;
export type DurationUnit = (typeof DURATION_UNITS)[number];
const UNIT_SECONDS: Record<DurationUnit, number> = { seconds: 1, minutes: 60, hours: 3600, days: 86_400 };
/** Up to this many seconds a duration is shown in the unit (then the next one). */
const UNIT_UPTO: Record<DurationUnit, number> = { seconds: 60, minutes: 3600, hours: 48 * 3600, days: Infinity };

function isDuration(def: Pick<IndicatorDef, 'unit'>): boolean {
  return def.unit === 'h' || def.unit === 's';
}

/** Seconds in one of the indicator's own units (`h` or `s`). */
function secondsPer(def: Pick<IndicatorDef, 'unit'>): number {
  return def.unit === 'h' ? 3600 : 1;
}

/** The unit that suits a duration of `seconds` (its absolute size, as rounded to `digits` in that unit: 59.97 s is 1.0 min). */
export function durationUnit(seconds: number, digits = 1): DurationUnit {
  const a = Math.abs(seconds);
  const rounded = (u: DurationUnit) => (Math.round((a / UNIT_SECONDS[u]) * 10 ** digits) / 10 ** digits) * UNIT_SECONDS[u];
  return DURATION_UNITS.find((u) => rounded(u) < UNIT_UPTO[u])!;
}

/** A number of `unit`s with the locale's unit word: `4.8 min`, `4,8 мин`, `4.8分钟`. */
export function formatDuration(amount: number, unit: DurationUnit, locale: Locale | string, opts: { digits?: number; signed?: boolean } = {}): string {
  const digits = opts.digits ?? 1;
  const n = nf(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits, ...(opts.signed ? { signDisplay: 'exceptZero' as const } : {}) }).format(amount);
  return fixSpaces(msg(builtinMessages(locale as Locale), locale, `units.${unit}`, { value: fixMinus(n) }));
}

/** An indicator's duration value (in its own unit) in the unit that suits its size. */
function formatDurationValue(def: IndicatorDef, value: number, locale: Locale | string, signed: boolean): string {
  const seconds = value * secondsPer(def);
  const unit = durationUnit(seconds, fractionDigits(def));
  return formatDuration(seconds / UNIT_SECONDS[unit], unit, locale, { digits: fractionDigits(def), signed });
}

function defOf(id: string): IndicatorDef {
  const d = INDICATOR_BY_ID.get(id);
  if (!d) throw new Error(`unknown indicator id "${id}"`);
  return d;
}

/** An indicator value as printed on the page: `87.3%`, `3,2 ч`, `4.8 min`, `4.31`, `−0.13`, `—` when null. */
export function formatValue(id: string, value: number | null | undefined, locale: Locale | string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return EMPTY;
  const def = defOf(id);
  if (isDuration(def)) return formatDurationValue(def, value, locale, false);
  return fixMinus(fixSpaces(nf(locale, numberOptions(def, false)).format(def.unit === '%' ? value / 100 : value)));
}

/**
 * How a chart axis shows an indicator: its values are multiplied by `scale` before ticks are
 * chosen (a duration axis counts in one unit, the one that suits its largest value, so the ticks
 * are round numbers of that unit), and `format` labels a tick (in those scaled numbers) with no
 * more digits than the tick step needs.
 */
export interface AxisFormat {
  scale: number;
  format(tick: number, step: number): string;
}

export function axisFormat(id: string, maxAbs: number, locale: Locale | string): AxisFormat {
  const def = defOf(id);
  // d3 steps are 1, 2 or 5 times a power of ten: one digit per decade below 1.
  const digitsFor = (step: number) => Math.max(0, -Math.floor(Math.log10(Math.abs(step) || 1)));
  if (isDuration(def)) {
    const unit = durationUnit(maxAbs * secondsPer(def));
    return { scale: secondsPer(def) / UNIT_SECONDS[unit], format: (v, step) => formatDuration(v, unit, locale, { digits: digitsFor(step) }) };
  }
  return { scale: 1, format: (v, step) => fixMinus(fixSpaces(nf(locale, numberOptions(def, false, digitsFor(step))).format(def.unit === '%' ? v / 100 : v))) };
}

/** A value formatted for a chart axis whose ticks are `step` apart (both in the indicator's own unit). */
export function formatTick(id: string, value: number, step: number, locale: Locale | string): string {
  const axis = axisFormat(id, Math.abs(value), locale);
  return axis.format(value * axis.scale, step * axis.scale);
}

/**
 * The change from the previous period: percentage points for rates (`+1.4 pp` through the
 * `ppTemplate` message), the indicator's own unit otherwise. Empty when either side is null.
 */
export function formatChange(id: string, value: number | null, previous: number | null, locale: Locale | string, ppTemplate: string): string {
  if (value === null || previous === null) return EMPTY;
  const def = defOf(id);
  const diff = value - previous;
  if (def.unit === '%') {
    const n = nf(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1, signDisplay: 'exceptZero' }).format(diff);
    return fixSpaces(ppTemplate.replace('{value}', fixMinus(n)));
  }
  if (isDuration(def)) return formatDurationValue(def, diff, locale, true);
  return fixMinus(fixSpaces(nf(locale, numberOptions(def, true)).format(diff)));
}

/** Whether a change prints as zero (formatChange): a duration's in the unit that suits it, so 2.5 s is not 0.0 h. */
export function changeRoundsToZero(id: string, diff: number): boolean {
  const def = defOf(id);
  const digits = def.unit === '%' ? 1 : fractionDigits(def);
  if (isDuration(def)) {
    const seconds = diff * secondsPer(def);
    const unit = durationUnit(seconds, digits);
    return Math.round((seconds / UNIT_SECONDS[unit]) * 10 ** digits) === 0;
  }
  return Math.round(diff * 10 ** digits) === 0;
}

/** Whole numbers with the locale's grouping: `120,345`, `120 345`. */
export function formatInt(n: number | null | undefined, locale: Locale | string): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return EMPTY;
  return fixMinus(fixSpaces(nf(locale, { maximumFractionDigits: 0 }).format(n)));
}

/** A share 0..1 as a percentage with one decimal. */
export function formatShare(share: number, locale: Locale | string): string {
  return fixSpaces(nf(locale, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(share));
}


function periodDate(periodId: string): Date {
  const [y, m] = periodId.split('-').map(Number);
  return new Date(Date.UTC(y!, m! - 1, 15));
}

/** `October 2026`, `2026年10月`, `октябрь 2026 г.` */
export function formatPeriod(periodId: string, locale: Locale | string): string {
  const s = fixSpaces(dtf(locale, { year: 'numeric', month: 'long', timeZone: 'UTC' }).format(periodDate(periodId)));
  return s.charAt(0).toLocaleUpperCase(locale) + s.slice(1);
}

/** Short month for chart axes: `Nov`, `11月`, `нояб.` */
export function formatMonthShort(periodId: string, locale: Locale | string): string {
  return fixSpaces(dtf(locale, { month: 'short', timeZone: 'UTC' }).format(periodDate(periodId)));
}

/** `Nov 2025`, `2025年11月`, `нояб. 2025 г.` */
export function formatMonthYearShort(periodId: string, locale: Locale | string): string {
  return fixSpaces(dtf(locale, { month: 'short', year: 'numeric', timeZone: 'UTC' }).format(periodDate(periodId)));
}

/** An instant as a date and time in the report's time zone. */
export function formatDateTime(iso: string, timeZone: string, locale: Locale | string): string {
  return fixSpaces(dtf(locale, { dateStyle: 'long', timeStyle: 'short', timeZone }).format(new Date(iso)));
}

/** An instant as a short date and time in the report's time zone (for tables). */
export function formatDateTimeShort(iso: string, timeZone: string, locale: Locale | string): string {
  return fixSpaces(dtf(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(new Date(iso)));
}

/** An instant as a date in the report's time zone. */
export function formatDate(iso: string, timeZone: string, locale: Locale | string): string {
  return fixSpaces(dtf(locale, { dateStyle: 'medium', timeZone }).format(new Date(iso)));
}

/** The days of a period [start, end) as a range: `October 1 – 31, 2026`, `1–31 октября 2026 г.` */
export function formatDateRange(startIso: string, endIso: string, timeZone: string, locale: Locale | string): string {
  const f = dtf(locale, { dateStyle: 'long', timeZone });
  return fixSpaces(f.formatRange(new Date(startIso), new Date(Date.parse(endIso) - 1)));
}
