/**
 * Status against target (spec/indicators.md, "Status against target"). Pure.
 */
import type { Direction } from './catalog.js';
import type { Status } from './model.js';

export function evaluateStatus(value: number | null, direction: Direction, target: number | null, warn: number | null): Status {
  if (value === null) return 'no_data';
  if (target === null || direction === 'neutral') return 'no_target';
  const better = (v: number, level: number) => (direction === 'higher' ? v >= level : v <= level);
  if (better(value, target)) return 'met';
  if (warn !== null && better(value, warn)) return 'at_risk';
  return 'missed';
}
