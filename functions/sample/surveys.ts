/**
 * surveys: CSAT and NPS surveys sent after tickets (answered or not), and SERVQUAL questionnaires
 * of five rows (one per dimension) sent to customers. Per month: CSAT rows, NPS rows, SERVQUAL rows.
 */
import { CONTRACT, SERVQUAL_DIMENSIONS } from '../pipeline/contract.js';
import { CHANNELS, LEVELS, SEASON, TEAMS, trend } from './company.js';
import { type Context, type MonthPlan, STREAM } from './context.js';
import { Rng } from './rng.js';
import { type Rec, type TableGen, blank, columnIndex, lastUpdate, pad, seen } from './table.js';
import { customerId, makeTicket, ticketId } from './tickets.js';
import { DAY, HOUR, Style } from './time.js';

const C = columnIndex('surveys');
const TICKET_CUSTOMER = columnIndex('tickets').customer_id!;

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

/** The ticket the p-th survey of month m follows: tickets of that month, evenly spread. */
function ticketFor(ctx: Context, plan: MonthPlan, m: number, p: number, phase: number): number {
  const tickets = ctx.plans.tickets;
  return tickets.starts[m]! + Math.floor(((p + phase) * tickets.counts[m]!) / plan.counts[m]!);
}

function ticketSurvey(ctx: Context, type: 'csat' | 'nps', k: number, m: number, p: number, rng: Rng, tRng: Rng): Rec {
  const plan = ctx.plans[type];
  const ticket = makeTicket(ctx, ticketFor(ctx, plan, m, p, type === 'csat' ? 0.5 : 0.2), tRng);
  rng.reseed(ctx.seed, STREAM[type], k);
  const team = ticket.team >= 0 ? TEAMS[ticket.team]! : TEAMS[1]!;
  const channel = ticket.channel >= 0 ? CHANNELS[ticket.channel]! : CHANNELS[0]!;
  const sent = Math.min(ctx.horizon - rng.next() * 6 * HOUR, (ticket.resolved ?? ticket.created + 2 * DAY) + rng.lognormal(1, 0.8) * HOUR);
  const responded = rng.chance(channel.response) ? seen(sent + rng.lognormal(5, 1.3) * HOUR + 60_000, ctx.horizon) : null;
  const f = ctx.progress(m);
  const cal = ctx.months[m]!.calendarMonth;
  let score: number | null = null;
  if (responded !== null && type === 'csat') {
    const slow = ticket.resolved !== null ? Math.max(0, (ticket.resolved - ticket.created) / HOUR - 48) * 0.0015 : 0.05;
    const good = clamp(team.csatGood - slow - (SEASON.load[cal]! - 1) * 0.2, 0.3, 0.99);
    score = rng.chance(good) ? (rng.chance(0.55) ? 5 : 4) : rng.pick([3, 2, 1], [50, 25, 25]);
  } else if (responded !== null) {
    const promoters = trend(LEVELS.npsPromoters[0], LEVELS.npsPromoters[1], f) + team.nps;
    const detractors = trend(LEVELS.npsDetractors[0], LEVELS.npsDetractors[1], f) - team.nps / 2;
    const u = rng.next();
    score = u < promoters ? rng.pick([9, 10], [45, 55]) : u < promoters + detractors ? rng.pick([0, 2, 3, 4, 5, 6], [5, 5, 8, 12, 30, 40]) : rng.pick([7, 8], [45, 55]);
  }
  const v = blank('surveys');
  v[C.response_id!] = `${type === 'csat' ? 'CS' : 'NPS'}-${pad(k + 1, 7)}`;
  v[C.survey_type!] = type;
  v[C.ticket_id!] = ticketId(ticketFor(ctx, plan, m, p, type === 'csat' ? 0.5 : 0.2));
  v[C.customer_id!] = ticket.v[TICKET_CUSTOMER] ?? null;
  v[C.channel!] = ticket.channel >= 0 ? channel.name : null;
  v[C.team!] = ticket.team >= 0 ? team.name : null;
  v[C.score!] = score;
  v[C.sent_at!] = sent;
  v[C.responded_at!] = responded;
  v[C.updated_at!] = lastUpdate(rng, responded ?? sent, ctx.horizon);
  return { v, style: Style.NewYork };
}

/** The five rows of SERVQUAL questionnaire q (month m). */
function servqual(ctx: Context, q: number, m: number, p: number, rng: Rng, out: Rec[]): void {
  rng.reseed(ctx.seed, STREAM.servqual, q);
  const plan = ctx.plans.servqual;
  const sent = ctx.timeInMonth(rng, m, p, plan.counts[m]!, 0);
  const customer = ctx.pickCustomer(rng, sent);
  const responded = seen(sent + rng.lognormal(20, 1) * HOUR + 60_000, ctx.horizon);
  const channel = rng.chance(0.7) ? 'email' : 'web';
  const f = ctx.progress(m);
  const mood = 0.4 * rng.normal();
  const updated = lastUpdate(rng, responded ?? sent, ctx.horizon);
  for (const dim of SERVQUAL_DIMENSIONS) {
    const gap = LEVELS.servqualGap[dim];
    const expectation = clamp(Math.round(5.6 + 0.9 * rng.normal()), 1, 7);
    const perceived = expectation + trend(gap[0], gap[1], f) + mood + 0.9 * rng.normal();
    const v = blank('surveys');
    v[C.response_id!] = `SQ-${pad(q + 1, 6)}-${dim}`;
    v[C.survey_type!] = 'servqual';
    v[C.customer_id!] = customer === null ? null : customerId(customer);
    v[C.channel!] = channel;
    v[C.dimension!] = dim;
    v[C.expectation!] = responded !== null ? expectation : null;
    v[C.score!] = responded !== null ? clamp(Math.round(perceived), 1, 7) : null;
    v[C.sent_at!] = sent;
    v[C.responded_at!] = responded;
    v[C.updated_at!] = updated;
    out.push({ v, style: Style.Z });
  }
}

export function surveysTable(ctx: Context): TableGen {
  const { csat, nps, servqual: sq } = ctx.plans;
  return {
    def: CONTRACT.surveys,
    records: csat.total + nps.total + 5 * sq.total,
    forEach(emit) {
      const rng = new Rng();
      const tRng = new Rng();
      const rows: Rec[] = [];
      for (let m = 0; m < ctx.months.length; m++) {
        for (let p = 0; p < csat.counts[m]!; p++) emit(ticketSurvey(ctx, 'csat', csat.starts[m]! + p, m, p, rng, tRng));
        for (let p = 0; p < nps.counts[m]!; p++) emit(ticketSurvey(ctx, 'nps', nps.starts[m]! + p, m, p, rng, tRng));
        for (let p = 0; p < sq.counts[m]!; p++) {
          rows.length = 0;
          servqual(ctx, sq.starts[m]! + p, m, p, rng, rows);
          rows.forEach(emit);
        }
      }
    },
    fixOlder(v) {
      if (v[C.responded_at!] === null) {
        v[C.score!] = null;
        v[C.expectation!] = null;
      }
    },
  };
}
