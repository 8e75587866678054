/**
 * The generation plan: how many records of each kind fall in each month, and the customer base
 * (kept in typed arrays, a few bytes per customer) that tickets and orders pick from.
 */
import { HOUR_WEIGHTS, LEVELS, REGION_WEIGHTS, SEASON, SEGMENT_CHURN, SEGMENT_WEIGHTS, trend } from './company.js';
import { Rng } from './rng.js';
import { DAY, HOUR, type Month, dayStart, monthsEndingWith } from './time.js';

/** Records per kind at scale 1 over the default 15 months (servqual: questionnaires of 5 rows). */
export const BASE_COUNTS = {
  tickets: 40_000,
  csat: 12_000,
  nps: 8_000,
  servqual: 1_000,
  orders: 30_000,
  complaints: 150,
  customers: 6_000,
  /** Live contacts (calls, chats, messages waiting for a person): about 1.5 per ticket. */
  contacts: 60_000,
} as const;
export type Kind = keyof typeof BASE_COUNTS;
export const DEFAULT_MONTHS = 15;
/** Share of the customers created before the history starts (up to LEGACY_YEARS earlier). */
const LEGACY_SHARE = 0.55;
const LEGACY_YEARS = 3;

/** Seeds of the independent random streams. */
export const STREAM = { tickets: 1, csat: 2, nps: 3, servqual: 4, orders: 5, complaints: 6, customers: 7, invoices: 8, plan: 9, contacts: 10 } as const;

/** Record counts per month, with running starts for index -> month lookups. */
export class MonthPlan {
  readonly starts: number[];
  readonly total: number;
  constructor(readonly counts: number[]) {
    this.starts = [];
    let acc = 0;
    for (const c of counts) {
      this.starts.push(acc);
      acc += c;
    }
    this.total = acc;
  }
  monthOf(i: number): number {
    let lo = 0;
    let hi = this.counts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

/** Splits n into integer parts proportional to weights (largest remainder, ties by index). */
export function apportion(n: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (n * w) / sum);
  const out = exact.map(Math.floor);
  let left = n - out.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; left > 0; k++, left--) out[order[k % order.length]![1]]!++;
  return out;
}

export function recordCounts(scale: number, months: number): Record<Kind, number> {
  const f = scale * (months / DEFAULT_MONTHS);
  const out = {} as Record<Kind, number>;
  for (const k of Object.keys(BASE_COUNTS) as Kind[]) out[k] = Math.max(0, Math.round(BASE_COUNTS[k] * f));
  return out;
}

export class Context {
  readonly months: Month[];
  readonly horizon: number;
  readonly plans: Record<Exclude<Kind, 'customers'>, MonthPlan>;
  readonly legacyCustomers: number;
  readonly newCustomers: MonthPlan;
  readonly custCreated: Float64Array;
  /** NaN when the customer has not churned by the horizon. */
  readonly custChurned: Float64Array;
  readonly custSegment: Uint8Array;
  readonly custRegion: Uint8Array;
  private readonly hourCdf: number[];

  constructor(
    readonly seed: number,
    endPeriod: string,
    monthCount: number,
    counts: Record<Kind, number>,
  ) {
    this.months = monthsEndingWith(endPeriod, monthCount);
    this.horizon = this.months[this.months.length - 1]!.end;
    const rng = new Rng(seed, STREAM.plan, 0);
    const jitter = this.months.map(() => 1 + 0.05 * rng.normal());
    const w = (f: (m: Month, i: number) => number) => this.months.map((m, i) => Math.max(0.05, f(m, i) * jitter[i]!));
    const ticketW = w((m, i) => SEASON.tickets[m.calendarMonth]! * (1 + 0.01 * i));
    const orderW = w((m, i) => SEASON.orders[m.calendarMonth]! * (1 + 0.015 * i));
    const complaintW = w((m, i) => orderW[i]! * SEASON.complaints[m.calendarMonth]!);
    const plan = (k: Kind, weights: number[]) => new MonthPlan(apportion(counts[k], weights));
    this.plans = {
      tickets: plan('tickets', ticketW),
      csat: plan('csat', ticketW),
      nps: plan('nps', ticketW),
      servqual: plan('servqual', w(() => 1)),
      orders: plan('orders', orderW),
      complaints: plan('complaints', complaintW),
      contacts: plan('contacts', ticketW.map((x, i) => x * SEASON.contacts[this.months[i]!.calendarMonth]!)),
    };
    this.legacyCustomers = Math.round(counts.customers * LEGACY_SHARE);
    this.newCustomers = new MonthPlan(apportion(counts.customers - this.legacyCustomers, orderW));
    let acc = 0;
    this.hourCdf = HOUR_WEIGHTS.map((x) => (acc += x) / HOUR_WEIGHTS.reduce((a, b) => a + b, 0));
    const n = counts.customers;
    this.custCreated = new Float64Array(n);
    this.custChurned = new Float64Array(n);
    this.custSegment = new Uint8Array(n);
    this.custRegion = new Uint8Array(n);
    this.buildCustomers(rng);
  }

  /** Position of month m in the history, 0 (first) .. 1 (last). */
  progress(m: number): number {
    return this.months.length > 1 ? m / (this.months.length - 1) : 1;
  }

  /**
   * A time in month m for the p-th of `count` records: days spread evenly (weekends quieter),
   * hour of day following the activity curve in the given local UTC offset.
   */
  timeInMonth(rng: Rng, m: number, p: number, count: number, utcOffsetH: number): number {
    const month = this.months[m]!;
    const days = Math.round((month.end - month.start) / DAY);
    let day = Math.floor(((p + rng.next()) / count) * days);
    const weekday = new Date(month.start + day * DAY).getUTCDay();
    if ((weekday === 0 || weekday === 6) && rng.chance(0.45)) day = (day + 2) % days;
    const u = rng.next();
    let hour = 0;
    while (this.hourCdf[hour]! < u && hour < 23) hour++;
    const t = month.start + day * DAY + (hour - utcOffsetH) * HOUR + Math.floor(rng.next() * HOUR);
    return Math.min(month.end - 60_000, Math.max(month.start, t));
  }

  /**
   * A customer active at time t (created before it, not churned), or null. `skew` > 1 favours the
   * longest-standing customers, who buy more often.
   */
  pickCustomer(rng: Rng, t: number, skew = 1): number | null {
    const created = this.custCreated;
    let lo = 0;
    let hi = created.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (created[mid]! <= t) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return null;
    for (let attempt = 0; attempt < 6; attempt++) {
      const idx = Math.floor(Math.pow(rng.next(), skew) * lo);
      const churned = this.custChurned[idx]!;
      if (!(churned <= t)) return idx;
    }
    return null;
  }

  private buildCustomers(rng: Rng): void {
    const first = this.months[0]!.start;
    const legacyStart = Date.UTC(new Date(first).getUTCFullYear() - LEGACY_YEARS, new Date(first).getUTCMonth(), 1);
    const n = this.custCreated.length;
    for (let i = 0; i < n; i++) {
      rng.reseed(this.seed, STREAM.customers, i);
      let created: number;
      if (i < this.legacyCustomers) {
        created = dayStart(legacyStart + ((i + rng.next()) / this.legacyCustomers) * (first - legacyStart));
      } else {
        const k = i - this.legacyCustomers;
        const m = this.newCustomers.monthOf(k);
        const month = this.months[m]!;
        const p = k - this.newCustomers.starts[m]!;
        created = month.start + Math.floor(((p + rng.next()) / this.newCustomers.counts[m]!) * (month.end - month.start - 60_000));
      }
      const segment = pickIndex(rng, SEGMENT_WEIGHTS);
      this.custCreated[i] = created;
      this.custSegment[i] = segment;
      this.custRegion[i] = pickIndex(rng, REGION_WEIGHTS);
      this.custChurned[i] = this.churnTime(rng, created, SEGMENT_CHURN[segment]!);
    }
  }

  /** Walks the months after `created` with a monthly churn hazard; NaN if still a customer. */
  private churnTime(rng: Rng, created: number, factor: number): number {
    const first = new Date(this.months[0]!.start);
    const firstYm = first.getUTCFullYear() * 12 + first.getUTCMonth();
    let t = created;
    while (t < this.horizon) {
      const d = new Date(t);
      const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
      const next = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
      const m = d.getUTCFullYear() * 12 + d.getUTCMonth() - firstYm;
      const base = m < 0 ? LEVELS.churnHazard[0] : trend(LEVELS.churnHazard[0], LEVELS.churnHazard[1], this.progress(m));
      const h = base * factor * SEASON.churn[d.getUTCMonth() + 1]! * ((next - t) / (next - start));
      if (rng.chance(h)) {
        const at = dayStart(t + rng.next() * (next - t)) + DAY;
        return at < this.horizon ? at : NaN;
      }
      t = next;
    }
    return NaN;
  }
}

export function pickIndex(rng: Rng, weights: readonly number[]): number {
  let total = 0;
  for (const w of weights) total += w;
  let x = rng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    x -= weights[i]!;
    if (x < 0) return i;
  }
  return weights.length - 1;
}
