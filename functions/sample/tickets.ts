/** tickets: one per customer issue, with response/resolution times shaped by team, channel, load. */
import { CONTRACT } from '../pipeline/contract.js';
import {
  CHANNELS,
  LEVELS,
  PRIORITIES,
  PRIORITY_FRT,
  PRIORITY_RES,
  PRIORITY_WEIGHTS,
  SEASON,
  TEAMS,
  TEAM_WEIGHTS,
  TICKET_CHANNEL_WEIGHTS,
  UNASSIGNED_TEAM,
  trend,
} from './company.js';
import { type Context, STREAM, pickIndex } from './context.js';
import { Rng } from './rng.js';
import { type Rec, type TableGen, blank, columnIndex, lastUpdate, pad, seen } from './table.js';
import { DAY, HOUR, Style } from './time.js';

const C = columnIndex('tickets');

export const ticketId = (i: number): string => `TCK-${pad(i + 1, 7)}`;
export const customerId = (i: number): string => `CUS-${pad(i + 1, 6)}`;

/** Ticket i (a pure function of the seed and i), plus the facts surveys need. */
export interface Ticket extends Rec {
  team: number;
  channel: number;
  created: number;
  resolved: number | null;
}

export function makeTicket(ctx: Context, i: number, rng: Rng): Ticket {
  rng.reseed(ctx.seed, STREAM.tickets, i);
  const plan = ctx.plans.tickets;
  const m = plan.monthOf(i);
  const f = ctx.progress(m);
  const load = SEASON.load[ctx.months[m]!.calendarMonth]!;
  const team = rng.chance(UNASSIGNED_TEAM) ? -1 : pickIndex(rng, TEAM_WEIGHTS);
  const channel = rng.chance(0.01) ? -1 : pickIndex(rng, TICKET_CHANNEL_WEIGHTS);
  const prio = pickIndex(rng, PRIORITY_WEIGHTS);
  const t = team >= 0 ? TEAMS[team]! : TEAMS[1]!;
  const ch = channel >= 0 ? CHANNELS[channel]! : CHANNELS[0]!;
  const created = ctx.timeInMonth(rng, m, i - plan.starts[m]!, plan.counts[m]!, 3);
  const customer = ctx.pickCustomer(rng, created);

  const frtMedian = trend(LEVELS.firstResponseMedianH[0], LEVELS.firstResponseMedianH[1], f) * load * t.frt * ch.frt * PRIORITY_FRT[prio]!;
  const reply = rng.chance(0.985) ? created + Math.max(120_000, rng.lognormal(frtMedian, 0.65) * HOUR) : null;
  const resMedian = trend(LEVELS.resolutionMedianH[0], LEVELS.resolutionMedianH[1], f) * load * t.res * PRIORITY_RES[prio]!;
  const solve = rng.chance(0.975)
    ? Math.max((reply ?? created) + 600_000, created + rng.lognormal(resMedian, 0.85) * HOUR)
    : null;
  const firstResponse = seen(reply, ctx.horizon);
  const resolved = seen(solve, ctx.horizon);

  const v = blank('tickets');
  v[C.ticket_id!] = ticketId(i);
  v[C.customer_id!] = customer === null ? null : customerId(customer);
  v[C.created_at!] = created;
  v[C.first_response_at!] = firstResponse;
  v[C.resolved_at!] = resolved;
  v[C.status!] = status(rng, firstResponse, resolved, ctx.horizon);
  v[C.channel!] = channel >= 0 ? ch.name : null;
  v[C.team!] = team >= 0 ? t.name : null;
  v[C.agent_id!] = firstResponse !== null || resolved !== null ? `agt-${(team + 1) * 100 + rng.int(1, t.agents)}` : null;
  v[C.priority!] = PRIORITIES[prio]!;
  const oneContact = rng.chance(t.fcr / load ** 0.5);
  v[C.contacts_count!] = channel === 3 && rng.chance(0.3) ? null : oneContact ? 1 : rng.int(2, 4);
  v[C.reopened_count!] = resolved !== null && rng.chance(t.reopen * load) ? rng.int(1, 2) : 0;
  v[C.has_error!] = rng.chance(0.04) ? null : rng.chance(t.error * load ** 2);
  const last = Math.max(created, firstResponse ?? 0, resolved ?? 0);
  v[C.updated_at!] = lastUpdate(rng, last, ctx.horizon);
  return { v, style: channel >= 0 ? ch.style : Style.Z, team, channel, created, resolved };
}

function status(rng: Rng, reply: number | null, resolved: number | null, horizon: number): string {
  if (resolved !== null) return resolved < horizon - 3 * DAY && rng.chance(0.8) ? 'closed' : 'solved';
  if (reply === null) return 'new';
  return rng.chance(0.6) ? 'open' : 'pending';
}

export function ticketsTable(ctx: Context): TableGen {
  return {
    def: CONTRACT.tickets,
    records: ctx.plans.tickets.total,
    forEach(emit) {
      const rng = new Rng();
      for (let i = 0; i < ctx.plans.tickets.total; i++) emit(makeTicket(ctx, i, rng));
    },
    fixOlder(v) {
      v[C.status!] = v[C.resolved_at!] !== null ? 'solved' : v[C.first_response_at!] !== null ? 'open' : 'new';
      if (v[C.resolved_at!] === null) v[C.reopened_count!] = 0;
    },
  };
}
