import { describe, expect, it } from 'vitest';
import { lastClosedPeriod, parsePeriodId, periodBounds, shiftPeriod } from '../../functions/pipeline/period.js';
import { assertPeriod } from '../../functions/deliver/keys.js';
import { TargetsFileSchema } from '../../functions/pipeline/targets.js';

const GOOD = ['2024-01', '2024-12', '1999-09'];
const BAD = ['2024-13', '2024-00', '2024-1', '24-01', "2024-01' OR '1'='1", ' 2024-01', '2024-01\n'];

describe('period ids', () => {
  it('accepts YYYY-MM and rejects anything else, wherever a period is checked', () => {
    for (const p of GOOD) {
      expect(parsePeriodId(p), p).toEqual({ year: Number(p.slice(0, 4)), month: Number(p.slice(5)) });
      expect(assertPeriod(p)).toBe(p);
      expect(TargetsFileSchema.safeParse({ targets: { csat_pct: { from: p, target: 80 } } }).success, p).toBe(true);
    }
    for (const p of BAD) {
      expect(() => parsePeriodId(p), JSON.stringify(p)).toThrow(/invalid period/);
      expect(() => assertPeriod(p), JSON.stringify(p)).toThrow(RangeError);
      expect(TargetsFileSchema.safeParse({ targets: { csat_pct: { from: p, target: 80 } } }).success, JSON.stringify(p)).toBe(false);
    }
  });

  it('shifts across years and finds month bounds in the report zone', () => {
    expect(shiftPeriod('2026-01', -1)).toBe('2025-12');
    expect(shiftPeriod('2025-12', 13)).toBe('2027-01');
    const b = periodBounds('2026-10', 'Asia/Shanghai');
    expect(new Date(b.startMs).toISOString()).toBe('2026-09-30T16:00:00.000Z');
    expect(new Date(b.endMs).toISOString()).toBe('2026-10-31T16:00:00.000Z');
    expect(lastClosedPeriod('Asia/Shanghai', new Date('2026-10-31T16:30:00Z'))).toBe('2026-10');
    expect(lastClosedPeriod('UTC', new Date('2026-10-31T16:30:00Z'))).toBe('2026-09');
  });
});
