/**
 * Calendar helpers for the generator: the months of history, the export dates (Hive partitions),
 * and the timestamp styles of the data contract that the sample mixes.
 */

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export interface Month {
  /** YYYY-MM */
  id: string;
  start: number;
  end: number;
  /** 1..12 */
  calendarMonth: number;
}

export function parsePeriod(p: string): { year: number; month: number } {
  const m = /^(\d{4})-(\d{2})$/.exec(p);
  const month = m ? Number(m[2]) : 0;
  if (!m || month < 1 || month > 12) throw new Error(`period "${p}" is not YYYY-MM`);
  return { year: Number(m[1]), month };
}

/** The month before the current UTC month, as YYYY-MM. */
export function previousMonth(now = new Date()): string {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  return d.toISOString().slice(0, 7);
}

/** `count` consecutive months ending with `endPeriod`, oldest first. */
export function monthsEndingWith(endPeriod: string, count: number): Month[] {
  const { year, month } = parsePeriod(endPeriod);
  const out: Month[] = [];
  for (let k = count - 1; k >= 0; k--) {
    const start = Date.UTC(year, month - 1 - k, 1);
    const end = Date.UTC(year, month - k, 1);
    const d = new Date(start);
    out.push({ id: d.toISOString().slice(0, 7), start, end, calendarMonth: d.getUTCMonth() + 1 });
  }
  return out;
}

export const dayStart = (ms: number): number => Math.floor(ms / DAY) * DAY;

/**
 * Export dates: an initial full export dated the day before the first month, then exports on the
 * 7th, 14th, 21st and last day of every month. A row goes to the first export taken (end of that
 * day, UTC) at or after its updated_at.
 */
export class ExportCalendar {
  readonly dates: string[] = [];
  private readonly ends: number[] = [];

  constructor(months: Month[]) {
    const first = months[0]!;
    this.add(first.start);
    for (const m of months) {
      for (const day of [7, 14, 21]) this.add(m.start + day * DAY);
      this.add(m.end);
    }
  }

  private add(endOfDay: number): void {
    this.ends.push(endOfDay);
    this.dates.push(new Date(endOfDay - DAY).toISOString().slice(0, 10));
  }

  /** Index of the export that holds a row last updated at `ms`. */
  partitionOf(ms: number): number {
    let lo = 0;
    let hi = this.ends.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ms < this.ends[mid]!) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/** Timestamp styles the contract accepts; one is chosen per record (per source system). */
export const Style = {
  /** 2024-03-05T10:22:13Z */
  Z: 0,
  /** 2024-03-05T10:22:13.482Z */
  Millis: 1,
  /** 2024-03-05 13:22:13+03:00 */
  Moscow: 2,
  /** 2024-03-05T18:22:13+08:00 */
  Shanghai: 3,
  /** 2024-03-05T05:22:13-05:00 */
  NewYork: 4,
  /** 2024-03-05 10:22:13 (no offset: UTC) */
  Naive: 5,
  /** 2024-03-05 (00:00 UTC) */
  Date: 6,
} as const;
export type Style = (typeof Style)[keyof typeof Style];

export function formatTs(ms: number, style: Style): string {
  switch (style) {
    case Style.Z:
      return new Date(ms).toISOString().slice(0, 19) + 'Z';
    case Style.Millis:
      return new Date(ms).toISOString();
    case Style.Moscow: {
      const s = new Date(ms + 3 * HOUR).toISOString();
      return s.slice(0, 10) + ' ' + s.slice(11, 19) + '+03:00';
    }
    case Style.Shanghai:
      return new Date(ms + 8 * HOUR).toISOString().slice(0, 19) + '+08:00';
    case Style.NewYork:
      return new Date(ms - 5 * HOUR).toISOString().slice(0, 19) + '-05:00';
    case Style.Naive: {
      const s = new Date(ms).toISOString();
      return s.slice(0, 10) + ' ' + s.slice(11, 19);
    }
    case Style.Date:
      return new Date(ms).toISOString().slice(0, 10);
  }
}
