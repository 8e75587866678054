/**
 * The fictional company behind the sample ("Northwind Trading"): its teams, channels, customers
 * and the levels, trends and seasonality its service indicators follow. Tuned so that the default
 * report shows a mix of met, at-risk and missed indicators, a clearly weaker team, a December
 * peak, response times improving over the year and NPS slipping.
 */
import type { Style } from './time.js';
import { Style as S } from './time.js';

export interface Team {
  name: string;
  weight: number;
  /** Multipliers of the company-wide first-response and resolution medians. */
  frt: number;
  res: number;
  /** Share of tickets resolved with a single contact, reopen and error probabilities. */
  fcr: number;
  reopen: number;
  error: number;
  /** Probability that a CSAT answer is 4 or 5; NPS promoter/detractor shifts. */
  csatGood: number;
  nps: number;
  agents: number;
  /** Multiplier of the company-wide answer-speed median of live contacts (queue wait). */
  answer: number;
}

// Names exercise the renderers: Cyrillic, Chinese, an ampersand and markup that must be escaped.
export const TEAMS: Team[] = [
  { name: 'Billing', weight: 17, frt: 0.75, res: 0.7, fcr: 0.84, reopen: 0.03, error: 0.012, csatGood: 0.9, nps: 0.04, agents: 9, answer: 0.8 },
  { name: 'Техподдержка', weight: 30, frt: 1.0, res: 1.2, fcr: 0.75, reopen: 0.05, error: 0.02, csatGood: 0.86, nps: 0, agents: 18, answer: 1.05 },
  { name: '售后服务', weight: 21, frt: 1.05, res: 0.95, fcr: 0.8, reopen: 0.04, error: 0.017, csatGood: 0.87, nps: 0.01, agents: 12, answer: 0.95 },
  { name: 'Logistics & Returns', weight: 22, frt: 1.9, res: 1.7, fcr: 0.62, reopen: 0.09, error: 0.045, csatGood: 0.72, nps: -0.1, agents: 11, answer: 1.75 },
  { name: 'Key Accounts <b>VIP</b>', weight: 8, frt: 0.45, res: 0.55, fcr: 0.88, reopen: 0.02, error: 0.008, csatGood: 0.95, nps: 0.1, agents: 5, answer: 0.45 },
];
export const TEAM_WEIGHTS = TEAMS.map((t) => t.weight);
/** Share of tickets with no team (reported as `unassigned`). */
export const UNASSIGNED_TEAM = 0.02;

export interface Channel {
  name: string;
  ticketWeight: number;
  orderWeight: number;
  /** Multiplier of the first-response median. */
  frt: number;
  /** Probability that a CSAT/NPS survey is answered. */
  response: number;
  /** Extra delivery days for orders from this channel. */
  deliveryDelay: number;
  /** How the source system of this channel writes timestamps. */
  style: Style;
  /** Queue behaviour of a live channel (contacts); absent for channels without a queue. */
  live?: LiveQueue;
}

/** How contacts of a live channel (a person answers them from a queue) behave. */
export interface LiveQueue {
  /** Share of the live contacts. */
  weight: number;
  /** Multiplier of the company-wide answer-speed median. */
  wait: number;
  /** Median seconds a customer waits before giving up (log-normal). */
  patienceS: number;
  /** Median minutes from answer to end (talk or chat time, log-normal). */
  talkMin: number;
}

export const CHANNELS: Channel[] = [
  { name: 'email', ticketWeight: 34, orderWeight: 8, frt: 1.0, response: 0.19, deliveryDelay: 0, style: S.Z },
  {
    name: 'phone',
    ticketWeight: 19,
    orderWeight: 12,
    frt: 0.15,
    response: 0.15,
    deliveryDelay: 0,
    style: S.Moscow,
    live: { weight: 56, wait: 0.85, patienceS: 280, talkMin: 5.5 },
  },
  {
    name: 'chat',
    ticketWeight: 25,
    orderWeight: 10,
    frt: 0.3,
    response: 0.3,
    deliveryDelay: 0,
    style: S.Millis,
    live: { weight: 32, wait: 1.2, patienceS: 480, talkMin: 9 },
  },
  { name: 'web', ticketWeight: 14, orderWeight: 55, frt: 0.95, response: 0.23, deliveryDelay: 0, style: S.Naive },
  // Social media includes the messengers (WhatsApp, Telegram): a live queue, slower and more patient.
  {
    name: 'social',
    ticketWeight: 8,
    orderWeight: 15,
    frt: 1.3,
    response: 0.12,
    deliveryDelay: 0.45,
    style: S.Z,
    live: { weight: 12, wait: 1.9, patienceS: 900, talkMin: 14 },
  },
];
export const TICKET_CHANNEL_WEIGHTS = CHANNELS.map((c) => c.ticketWeight);
export const ORDER_CHANNEL_WEIGHTS = CHANNELS.map((c) => c.orderWeight);
/** Contact channel weights over CHANNELS: only the live ones (not email, not web forms). */
export const CONTACT_CHANNEL_WEIGHTS = CHANNELS.map((c) => c.live?.weight ?? 0);

export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export const PRIORITY_WEIGHTS = [22, 55, 18, 5];
export const PRIORITY_FRT = [1.3, 1, 0.7, 0.35];
export const PRIORITY_RES = [1.2, 1, 0.8, 0.5];

export const SEGMENTS = ['Consumer', 'SMB', 'Enterprise'] as const;
export const SEGMENT_WEIGHTS = [60, 30, 10];
export const SEGMENT_CHURN = [1.2, 0.9, 0.4];
export const REGIONS = ['Москва', 'Санкт-Петербург', '上海', '深圳', 'Berlin', 'London', 'São Paulo'] as const;
export const REGION_WEIGHTS = [24, 12, 20, 10, 12, 14, 8];

export const COMPLAINT_CATEGORIES = [
  'Late delivery',
  'Damaged item',
  'Wrong item, "size" mix-up',
  'Billing error',
  'Rude staff',
  'Refund delay\n(escalated)',
] as const;
export const COMPLAINT_CATEGORY_WEIGHTS = [34, 18, 14, 14, 8, 12];

/** Indexed by calendar month 1..12 (index 0 unused). */
const byMonth = (xs: number[]): number[] => [1, ...xs];
export const SEASON = {
  tickets: byMonth([1.0, 0.92, 0.97, 0.95, 0.93, 0.88, 0.84, 0.87, 0.98, 1.04, 1.22, 1.45]),
  orders: byMonth([0.9, 0.88, 0.97, 0.96, 0.95, 0.9, 0.86, 0.9, 0.98, 1.04, 1.3, 1.55]),
  /** Complaints per order. */
  complaints: byMonth([1.5, 1.1, 0.9, 0.8, 0.75, 0.7, 0.7, 0.75, 0.8, 0.9, 1.2, 1.8]),
  /** Load on the service desk: slower responses and resolutions, more errors. */
  load: byMonth([1.1, 1.0, 1.0, 0.97, 0.95, 0.92, 0.9, 0.92, 1.0, 1.02, 1.15, 1.35]),
  /** Delivery time multiplier. */
  delivery: byMonth([1.02, 1.0, 0.98, 0.97, 0.97, 0.97, 0.98, 0.98, 0.98, 1.0, 1.06, 1.12]),
  returns: byMonth([1.5, 1.2, 1, 0.95, 0.9, 0.9, 0.9, 0.9, 0.95, 1, 1.05, 1.1]),
  churn: byMonth([1.35, 1.1, 1, 0.95, 0.9, 0.9, 0.95, 0.95, 1, 1, 0.95, 1.05]),
  /** Live contacts per ticket (calls and chats peak harder than tickets before the holidays). */
  contacts: byMonth([1.0, 0.97, 0.98, 0.97, 0.96, 0.95, 0.94, 0.95, 0.98, 1.0, 1.06, 1.12]),
};

/** Interpolates from `a` (first month of history) to `b` (last month) by f in [0, 1]. */
export const trend = (a: number, b: number, f: number): number => a + (b - a) * f;

/** Company-wide levels, as [first month, last month] of the history. */
export const LEVELS = {
  firstResponseMedianH: [8.5, 3.6],
  resolutionMedianH: [30, 26],
  npsPromoters: [0.56, 0.46],
  npsDetractors: [0.12, 0.2],
  churnHazard: [0.017, 0.023],
  /** Median seconds a live contact waits in the queue before a person answers. */
  answerMedianS: [36, 22],
  /** SERVQUAL perception minus expectation, by dimension (first, last). */
  servqualGap: {
    reliability: [-0.75, -0.65],
    responsiveness: [-0.65, -0.15],
    assurance: [0.25, 0.2],
    empathy: [-0.25, -0.35],
    tangibles: [0.45, 0.4],
  },
} as const;

/** Local hour-of-day weights for customer activity (0..23). */
export const HOUR_WEIGHTS = [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 4, 6, 7, 7, 6, 6.5, 7, 7, 6.5, 6, 5, 4, 3.5, 3, 2.5, 1.5];
