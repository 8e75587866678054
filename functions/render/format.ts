/**
 * Locale-aware formatting of indicator values, changes, counts and dates with Intl. One place
 * decides how many digits each indicator shows, so the page, the charts and the tests agree.
 */
import type { Locale } from '../pipeline/reportsConfig.js';
import { INDICATOR_BY_ID } from '../metrics/indicators.js';
import { type IndicatorDeclaration as IndicatorDef } from '../metrics/declare.js';

export const EMPTY = '—';

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
  if (def.unit === 'h') return { ...base, style: 'unit', unit: 'hour', unitDisplay: 'short' };
  if (def.unit === 's') return { ...base, style: 'unit', unit: 'second', unitDisplay: 'short' };
  return base;
}

function defOf(id: string): IndicatorDef {
  const d = INDICATOR_BY_ID.get(id);
  if (!d) throw new Error(`unknown indicator id "${id}"`);
  return d;
}

/** An indicator value as printed on the page: `87.3%`, `3,2 ч`, `4.31`, `—` when null. */
export function formatValue(id: string, value: number | null | undefined, locale: Locale | string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return EMPTY;
  const def = defOf(id);
  return fixSpaces(nf(locale, numberOptions(def, false)).format(def.unit === '%' ? value / 100 : value));
}

/** A value formatted for a chart axis, with no more digits than the tick step needs. */
export function formatTick(id: string, value: number, step: number, locale: Locale | string): string {
  const def = defOf(id);
  // d3 steps are 1, 2 or 5 times a power of ten: one digit per decade below 1.
  const digits = Math.max(0, -Math.floor(Math.log10(Math.abs(step) || 1)));
  return fixSpaces(nf(locale, numberOptions(def, false, digits)).format(def.unit === '%' ? value / 100 : value));
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
    return fixSpaces(ppTemplate.replace('{value}', n));
  }
  return fixSpaces(nf(locale, numberOptions(def, true)).format(diff));
}

/** Whole numbers with the locale's grouping: `120,345`, `120 345`. */
export function formatInt(n: number | null | undefined, locale: Locale | string): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return EMPTY;
  return fixSpaces(nf(locale, { maximumFractionDigits: 0 }).format(n));
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
