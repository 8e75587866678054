/**
 * The data gate's thresholds: the `gate:` block of a report in config/reports.yaml (every key
 * optional, defaults below). The gate itself (functions/metrics/gate.ts) judges a computed
 * metrics.json against them; `staleAfterDays` stays where it already was, on the report.
 */
import { z } from 'zod';

export const GATE_DEFAULTS = {
  /** Above this share of a needed table's rows rejected (any reason), the report is held. */
  maxRejectedShare: 0.05,
  /**
   * When the newest record of all the report's tables lies more than this many hours before the
   * period's end, the data does not cover the whole period (the last day's export has not arrived): held.
   */
  dataEndToleranceHours: 24,
  /** On AWS: how long to wait before checking held data again. */
  recheckEveryHours: 6,
  /** On AWS: how long after the first hold to keep re-checking before telling ops and giving up. */
  deadlineHours: 72,
} as const;

export const GateDefSchema = z
  .object({
    maxRejectedShare: z.number().min(0).max(1).default(GATE_DEFAULTS.maxRejectedShare).describe('largest share (0..1) of a needed table\'s rows that may be rejected'),
    dataEndToleranceHours: z
      .number()
      .min(0)
      .default(GATE_DEFAULTS.dataEndToleranceHours)
      .describe("the newest record of the report's tables may lie this many hours before the period's end"),
    recheckEveryHours: z.number().min(1 / 60, 'at least one minute').max(24 * 7).default(GATE_DEFAULTS.recheckEveryHours).describe('AWS: wait between checks of held data'),
    deadlineHours: z.number().min(0).max(24 * 14, 'at most 14 days').default(GATE_DEFAULTS.deadlineHours).describe('AWS: after the first hold, give up and tell ops after this long'),
  })
  .strict();
export type GateDef = z.infer<typeof GateDefSchema>;
