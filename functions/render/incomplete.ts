/**
 * The data gate's reasons as sentences of the report's language, for the first page of a report
 * rendered although the gate held it (`--allow-incomplete`; metrics.json `gate`). Words: the
 * `gate.*` messages of templates/locales/<locale>.json.
 */
import type { Locale } from '../pipeline/reportsConfig.js';
import type { MetricsJson } from '../metrics/schema.js';
import { formatDateTime, formatDateTimeShort, formatInt, formatShare } from './format.js';

type T = (key: string, params?: Record<string, unknown>) => string;

/** One sentence per reason; [] when the gate passed (or the file predates the gate). */
export function incompleteReasons(metrics: MetricsJson, t: T, locale: Locale): string[] {
  const gate = metrics.gate;
  if (!gate?.held) return [];
  const tz = metrics.period.timezone;
  return gate.reasons.map((r) => {
    const hours = r.hoursBeforeEnd ?? 0;
    return t(`gate.${r.code}`, {
      table: r.table ? t(`tables.${r.table}`) : '',
      end: formatDateTime(metrics.period.end, tz, locale),
      rejected: formatInt(r.rejected, locale),
      rowsRead: formatInt(r.rowsRead, locale),
      share: r.share === undefined ? '' : formatShare(r.share, locale),
      limit: r.code === 'rejected_share' && r.limit !== undefined ? formatShare(r.limit, locale) : formatInt(r.limit, locale),
      newest: r.newest ? formatDateTimeShort(r.newest, tz, locale) : '',
      hours: formatInt(Math.round(hours), locale),
      days: formatInt(Math.floor(hours / 24), locale),
      count: Math.floor(hours / 24),
    });
  });
}
