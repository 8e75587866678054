// Compiled by test/unit/indicatorTypes.test.ts, never run: each marked line must fail the type check.
import { count, indicator, input, pct } from '../../functions/metrics/declare.js';

export const misspeltMeasure = indicator({
  id: 'x',
  category: 'quality',
  direction: 'higher',
  unit: '%',
  target: null,
  warn: null,
  breakdowns: [],
  inputs: { t: input('tickets', 'resolved', { reopened: count('reopened_count > 0') }) },
  formula: ({ t }) => pct(t.reopend, t.n), // ERROR: measure
});

export const misspeltAnchor = indicator({
  id: 'y',
  category: 'quality',
  direction: 'higher',
  unit: '%',
  target: null,
  warn: null,
  breakdowns: [],
  inputs: { t: input('tickets', 'resolvd') }, // ERROR: anchor
  formula: ({ t }) => pct(t.n, t.n),
});

export const misspeltColumn = indicator({
  id: 'z',
  category: 'quality',
  direction: 'higher',
  unit: '%',
  target: null,
  warn: null,
  breakdowns: [],
  reads: ['tickets.reopen_count'], // ERROR: column
  inputs: { t: input('tickets', 'resolved') },
  formula: ({ t }) => pct(t.n, t.n),
});
