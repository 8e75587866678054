/**
 * contacts: live contacts (phone calls, chats, messenger conversations) waiting in a team's queue
 * for a person. Each contact has a wait it would need before an agent is free (log-normal, shaped
 * by team, channel, season, hour of day and the company's improving level) and a patience (how
 * long the customer holds on): when the wait exceeds the patience the contact is abandoned at
 * that moment, otherwise it is answered and ends after a talk (or chat) time. So the abandon
 * share grows with the wait and the load, and the answered waits are the shorter ones. Some
 * contacts are follow-ups on an earlier ticket (linked, same customer and usually the same team);
 * most others are matched to a customer by phone number or login.
 */
import { CONTRACT } from '../pipeline/contract.js';
import { CHANNELS, CONTACT_CHANNEL_WEIGHTS, HOUR_WEIGHTS, LEVELS, SEASON, TEAMS, TEAM_WEIGHTS, UNASSIGNED_TEAM, trend } from './company.js';
import { type Context, STREAM, pickIndex } from './context.js';
import { Rng } from './rng.js';
import { type Rec, type TableGen, blank, columnIndex, lastUpdate, pad, seen } from './table.js';
import { customerId, makeTicket } from './tickets.js';
import { HOUR } from './time.js';

const C = columnIndex('contacts');
const T = columnIndex('tickets');

/** Share of contacts about an earlier ticket, and of the others matched to a customer. */
const TICKET_LINK = 0.3;
const IDENTIFIED = 0.8;
/** Share of contacts dropped within seconds whatever the wait (misdials, closed chat windows). */
const QUICK_DROP = 0.008;
/** Log-scale spread of the wait and of the patience. */
const WAIT_SIGMA = 0.85;
const PATIENCE_SIGMA = 1.0;
/** The queues' local time (the service desk is in Moscow, as for tickets). */
const LOCAL_OFFSET_H = 3;
const PEAK_HOUR = Math.max(...HOUR_WEIGHTS);

export const contactId = (i: number): string => `CNT-${pad(i + 1, 7)}`;

/**
 * The earlier ticket the contact is a follow-up on: a ticket some days back in the ticket stream
 * (which runs in time order), kept only when it was created before the contact.
 */
function followUp(ctx: Context, m: number, frac: number, queued: number, rng: Rng, tRng: Rng): ReturnType<typeof makeTicket> | null {
  const tickets = ctx.plans.tickets;
  const back = Math.floor((0.02 + 0.3 * rng.next()) * tickets.counts[m]!);
  const k = tickets.starts[m]! + Math.floor(frac * tickets.counts[m]!) - back;
  if (k < 0 || k >= tickets.total) return null;
  const ticket = makeTicket(ctx, k, tRng);
  return ticket.created <= queued - 600_000 ? ticket : null;
}

function makeContact(ctx: Context, i: number, rng: Rng, tRng: Rng): Rec {
  rng.reseed(ctx.seed, STREAM.contacts, i);
  const plan = ctx.plans.contacts;
  const m = plan.monthOf(i);
  const p = i - plan.starts[m]!;
  const f = ctx.progress(m);
  const load = SEASON.load[ctx.months[m]!.calendarMonth]!;
  const channel = pickIndex(rng, CONTACT_CHANNEL_WEIGHTS);
  const ch = CHANNELS[channel]!;
  const live = ch.live!;
  const queued = ctx.timeInMonth(rng, m, p, plan.counts[m]!, LOCAL_OFFSET_H);

  let team = rng.chance(UNASSIGNED_TEAM) ? -1 : pickIndex(rng, TEAM_WEIGHTS);
  let customer: string | null = null;
  let ticket: string | null = null;
  if (rng.chance(TICKET_LINK)) {
    const t = followUp(ctx, m, (p + 0.5) / plan.counts[m]!, queued, rng, tRng);
    if (t !== null) {
      ticket = t.v[T.ticket_id!] as string;
      customer = t.v[T.customer_id!] as string | null;
      if (t.team >= 0 && rng.chance(0.85)) team = t.team;
    }
  }
  if (ticket === null && rng.chance(IDENTIFIED)) {
    const c = ctx.pickCustomer(rng, queued);
    customer = c === null ? null : customerId(c);
  }
  const tm = team >= 0 ? TEAMS[team]! : TEAMS[1]!;

  // The wait an agent would need, and how long this customer would hold on.
  const hour = Math.floor(queued / HOUR + LOCAL_OFFSET_H) % 24;
  const busy = 0.75 + (0.35 * HOUR_WEIGHTS[hour]!) / PEAK_HOUR;
  const median = trend(LEVELS.answerMedianS[0], LEVELS.answerMedianS[1], f) * load ** 1.5 * busy * tm.answer * live.wait;
  const wait = Math.max(1, rng.lognormal(median, WAIT_SIGMA)) * 1000;
  const patience = (rng.chance(QUICK_DROP) ? 2 + rng.next() * 13 : rng.lognormal(live.patienceS / load ** 0.5, PATIENCE_SIGMA)) * 1000;
  const talk = Math.max(20_000, rng.lognormal(live.talkMin * 60_000, 0.7));

  let answered: number | null = null;
  let ended: number | null = null;
  if (queued + Math.min(wait, patience) < ctx.horizon) {
    // Otherwise still waiting when the export was taken: neither answered nor ended yet.
    answered = wait <= patience ? Math.round(queued + wait) : null;
    ended = seen(answered !== null ? answered + Math.round(talk) : Math.round(queued + patience), ctx.horizon);
  }

  const v = blank('contacts');
  v[C.contact_id!] = contactId(i);
  v[C.customer_id!] = customer;
  v[C.ticket_id!] = ticket;
  v[C.channel!] = ch.name;
  v[C.team!] = team >= 0 ? tm.name : null;
  v[C.agent_id!] = answered !== null ? `agt-${(team + 1) * 100 + rng.int(1, tm.agents)}` : null;
  v[C.queued_at!] = queued;
  v[C.answered_at!] = answered;
  v[C.ended_at!] = ended;
  v[C.updated_at!] = lastUpdate(rng, Math.max(queued, answered ?? 0, ended ?? 0), ctx.horizon);
  return { v, style: ch.style };
}

export function contactsTable(ctx: Context): TableGen {
  const n = ctx.plans.contacts.total;
  return {
    def: CONTRACT.contacts,
    records: n,
    forEach(emit) {
      const rng = new Rng();
      const tRng = new Rng();
      for (let i = 0; i < n; i++) emit(makeContact(ctx, i, rng, tRng));
    },
    fixOlder(v) {
      // An earlier version taken while the contact was still waiting has no agent yet.
      if (v[C.answered_at!] === null) v[C.agent_id!] = null;
    },
  };
}
