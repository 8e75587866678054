/**
 * orders, and what hangs off them: invoices (one per order, same index) and complaints (about
 * 0.5% of orders, more in the peak season).
 */
import { CONTRACT } from '../pipeline/contract.js';
import { CHANNELS, COMPLAINT_CATEGORIES, COMPLAINT_CATEGORY_WEIGHTS, ORDER_CHANNEL_WEIGHTS, SEASON } from './company.js';
import { type Context, STREAM, pickIndex } from './context.js';
import { Rng } from './rng.js';
import { type Rec, type TableGen, blank, columnIndex, lastUpdate, pad, seen } from './table.js';
import { customerId, ticketId } from './tickets.js';
import { DAY, HOUR, Style, dayStart } from './time.js';

const O = columnIndex('orders');
const I = columnIndex('invoices');
const K = columnIndex('complaints');
/** The warehouse works in UTC+8: promises are "by the end of that local day". */
const LOCAL = 8 * HOUR;

export const orderId = (i: number): string => `SO-${pad(i + 1, 7)}`;

export interface Order extends Rec {
  ordered: number;
  delivered: number | null;
  channel: number;
  customer: string | null;
  amount: string;
}

export function makeOrder(ctx: Context, i: number, rng: Rng): Order {
  rng.reseed(ctx.seed, STREAM.orders, i);
  const plan = ctx.plans.orders;
  const m = plan.monthOf(i);
  const cal = ctx.months[m]!.calendarMonth;
  const channel = pickIndex(rng, ORDER_CHANNEL_WEIGHTS);
  const ch = CHANNELS[channel]!;
  const ordered = ctx.timeInMonth(rng, m, i - plan.starts[m]!, plan.counts[m]!, 8);
  const cust = rng.chance(0.03) ? null : ctx.pickCustomer(rng, ordered, 2.5);
  const lead = channel === 3 ? 3 : 4;
  const promised = dayStart(ordered + LOCAL) + (lead + 1) * DAY - LOCAL - 1000;
  const trip = rng.lognormal((lead - 0.8) * SEASON.delivery[cal]! + ch.deliveryDelay, 0.2) * DAY;
  const delivered = rng.chance(0.994) ? seen(ordered + Math.max(2 * HOUR, trip), ctx.horizon) : null;
  const qty = 1 + Math.floor(rng.lognormal(1.2, 0.9));
  const short = delivered !== null && rng.chance(0.03);
  const changed = rng.chance(0.07);
  const returned = delivered !== null && rng.chance(0.045 * SEASON.returns[cal]!) ? seen(delivered + rng.lognormal(7, 0.5) * DAY, ctx.horizon) : null;
  const amount = (qty * rng.lognormal(32, 0.6)).toFixed(2);

  const v = blank('orders');
  v[O.order_id!] = orderId(i);
  v[O.customer_id!] = cust === null ? null : customerId(cust);
  v[O.channel!] = ch.name;
  v[O.ordered_at!] = ordered;
  v[O.promised_at!] = rng.chance(0.02) ? null : promised;
  v[O.delivered_at!] = delivered;
  v[O.quantity_ordered!] = qty;
  v[O.quantity_delivered!] = delivered === null ? null : short ? rng.int(0, qty - 1) : qty;
  v[O.is_accurate!] = delivered === null || rng.chance(0.01) ? null : rng.chance(0.984 - (SEASON.load[cal]! - 1) * 0.03);
  v[O.change_requested!] = changed;
  v[O.change_accommodated!] = changed ? rng.chance(channel === 4 ? 0.7 : 0.88) : null;
  v[O.returned_at!] = returned;
  v[O.amount!] = amount;
  v[O.updated_at!] = lastUpdate(rng, Math.max(ordered, delivered ?? 0, returned ?? 0), ctx.horizon);
  return { v, style: channel === 3 ? Style.Shanghai : Style.Naive, ordered, delivered, channel, customer: v[O.customer_id!] as string | null, amount };
}

export function ordersTable(ctx: Context): TableGen {
  return {
    def: CONTRACT.orders,
    records: ctx.plans.orders.total,
    forEach(emit) {
      const rng = new Rng();
      for (let i = 0; i < ctx.plans.orders.total; i++) emit(makeOrder(ctx, i, rng));
    },
    boolText: { is_accurate: ['1', '0'], change_requested: ['Y', 'N'], change_accommodated: ['yes', 'no'] },
    fixOlder(v) {
      if (v[O.delivered_at!] === null) {
        v[O.quantity_delivered!] = null;
        v[O.is_accurate!] = null;
      }
    },
  };
}

export function invoicesTable(ctx: Context): TableGen {
  const n = ctx.plans.orders.total;
  return {
    def: CONTRACT.invoices,
    records: n,
    forEach(emit) {
      const rng = new Rng();
      const oRng = new Rng();
      for (let i = 0; i < n; i++) {
        const order = makeOrder(ctx, i, oRng);
        rng.reseed(ctx.seed, STREAM.invoices, i);
        const cal = new Date(order.ordered).getUTCMonth() + 1;
        const issued = seen(order.ordered + rng.lognormal(7 * SEASON.load[cal]! ** 2, 0.7) * HOUR, ctx.horizon);
        const v = blank('invoices');
        v[I.invoice_id!] = `INV-${pad(i + 1, 7)}`;
        v[I.order_id!] = orderId(i);
        v[I.customer_id!] = order.customer;
        v[I.due_at!] = dayStart(order.ordered) + 2 * DAY;
        v[I.issued_at!] = issued;
        v[I.is_accurate!] = issued === null ? null : rng.chance(0.991 - (SEASON.load[cal]! - 1) * 0.02);
        v[I.amount!] = order.amount;
        v[I.updated_at!] = lastUpdate(rng, issued ?? order.ordered, ctx.horizon);
        emit({ v, style: Style.Z });
      }
    },
    fixedStyle: { due_at: Style.Date },
    boolText: { is_accurate: ['TRUE', 'FALSE'] },
    writer: { eol: '\r\n' },
    fixOlder(v) {
      if (v[I.issued_at!] === null) v[I.is_accurate!] = null;
    },
  };
}

export function complaintsTable(ctx: Context): TableGen {
  const plan = ctx.plans.complaints;
  const orders = ctx.plans.orders;
  return {
    def: CONTRACT.complaints,
    records: plan.total,
    forEach(emit) {
      const rng = new Rng();
      const oRng = new Rng();
      for (let m = 0; m < ctx.months.length; m++) {
        for (let p = 0; p < plan.counts[m]!; p++) {
          const k = plan.starts[m]! + p;
          const oi = orders.starts[m]! + Math.floor(((p + 0.5) * orders.counts[m]!) / plan.counts[m]!);
          const order = makeOrder(ctx, oi, oRng);
          rng.reseed(ctx.seed, STREAM.complaints, k);
          const after = order.delivered ?? order.ordered + 5 * DAY;
          const opened = Math.min(ctx.horizon - rng.next() * 12 * HOUR, after + rng.lognormal(30, 0.8) * HOUR);
          const resolved = rng.chance(0.96) ? seen(opened + rng.lognormal(30, 0.85) * HOUR, ctx.horizon) : null;
          const v = blank('complaints');
          v[K.complaint_id!] = `CMP-${pad(k + 1, 6)}`;
          v[K.customer_id!] = order.customer;
          v[K.order_id!] = orderId(oi);
          v[K.ticket_id!] = rng.chance(0.5) ? ticketId(ctx.plans.tickets.starts[m]! + rng.int(0, Math.max(0, ctx.plans.tickets.counts[m]! - 1))) : null;
          v[K.channel!] = rng.chance(0.7) ? CHANNELS[order.channel]!.name : rng.pick(['phone', 'email'], [1, 1]);
          v[K.category!] = rng.pick(COMPLAINT_CATEGORIES, COMPLAINT_CATEGORY_WEIGHTS);
          v[K.opened_at!] = opened;
          v[K.resolved_at!] = resolved;
          v[K.updated_at!] = lastUpdate(rng, resolved ?? opened, ctx.horizon);
          emit({ v, style: Style.Moscow });
        }
      }
    },
  };
}
