/**
 * Report periods: calendar months in the report's IANA time zone, as UTC instants.
 */
import { DateTime } from 'luxon';
import { isValidTimeZone } from './configErrors.js';

export class PeriodError extends Error {
  override name = 'PeriodError';
}

export interface PeriodBounds {
  id: string; // YYYY-MM
  /** Epoch milliseconds of local midnight on the 1st, and of the 1st of the next month. */
  startMs: number;
  endMs: number;
}

/** A period id, YYYY-MM (groups: year, month). The one pattern every period check uses. */
export const PERIOD_ID_RE = /^(\d{4})-(0[1-9]|1[0-2])$/;

export function parsePeriodId(id: string): { year: number; month: number } {
  const m = PERIOD_ID_RE.exec(id);
  if (!m) throw new PeriodError(`invalid period "${id}": expected YYYY-MM, e.g. 2026-10`);
  return { year: Number(m[1]), month: Number(m[2]) };
}

export function assertTimeZone(tz: string): string {
  if (!isValidTimeZone(tz)) throw new PeriodError(`unknown time zone "${tz}": expected an IANA name such as Europe/Moscow`);
  return tz;
}

/** The period `offset` months after `id` (negative for earlier). */
export function shiftPeriod(id: string, offset: number): string {
  const { year, month } = parsePeriodId(id);
  const idx = year * 12 + (month - 1) + offset;
  return `${String(Math.floor(idx / 12)).padStart(4, '0')}-${String((idx % 12) + 1).padStart(2, '0')}`;
}

export function periodBounds(id: string, timezone: string): PeriodBounds {
  const { year, month } = parsePeriodId(id);
  assertTimeZone(timezone);
  const start = DateTime.fromObject({ year, month, day: 1 }, { zone: timezone });
  const end = start.plus({ months: 1 });
  return { id, startMs: start.toMillis(), endMs: end.toMillis() };
}

/** The periods from `id - (count - 1)` to `id`, oldest first. */
export function periodRange(id: string, timezone: string, count: number): PeriodBounds[] {
  return Array.from({ length: count }, (_, i) => periodBounds(shiftPeriod(id, i - (count - 1)), timezone));
}

/** The last complete month before `now` in `timezone`. */
export function lastClosedPeriod(timezone: string, now: Date = new Date()): string {
  const local = DateTime.fromJSDate(now, { zone: assertTimeZone(timezone) }).minus({ months: 1 });
  return local.toFormat('yyyy-MM');
}

export function isoMs(ms: number): string {
  return new Date(ms).toISOString();
}
