/**
 * metrics.json, the machine-readable twin of every report: this zod schema is its single
 * definition. Its TypeScript type is inferred from it; every stage that reads a metrics.json (the
 * render, deliver and query handlers, the preview, the CLIs, the benchmarks) parses it here and
 * fails with a message naming the file and field; `npm run schemas` publishes it as
 * config/schemas/metrics.schema.json for analysts' tools.
 */
import { z } from 'zod';
import { REJECT_REASONS, SEGMENT_KINDS, TABLES, type SegmentKind } from '../pipeline/contract.js';
import { formatZodIssues } from '../pipeline/configErrors.js';
import { CATEGORIES } from './declare.js';

export const STATUSES = ['met', 'at_risk', 'missed', 'no_target', 'no_data'] as const;
export type Status = (typeof STATUSES)[number];

const periodId = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'a period YYYY-MM');
const instant = z.iso.datetime({ precision: 3 }).describe('ISO-8601 UTC with milliseconds');
const count = z.number().int().nonnegative();
const value = z.number().nullable().describe('unrounded; null when n is 0');

export const TrendPointSchema = z
  .object({
    period: periodId,
    value,
    n: count,
    target: z.number().nullable().optional().describe('the target in force for this month (targets can change from a period onward); null when none; absent in files written before it was recorded'),
    warn: z.number().nullable().optional().describe('the warn level in force for this month; null when none; absent in files written before it was recorded'),
  })
  .strict();

const judged = {
  value,
  n: count.describe('size of the population the value is computed over'),
  status: z.enum(STATUSES),
  lowSample: z.boolean().describe('n is below min_sample: the figure rests on few cases'),
  previous: z.number().nullable().describe('value for P-1'),
  yearAgo: z.number().nullable().describe('value for P-12, the same month a year earlier'),
  trend: z.array(TrendPointSchema).length(12).describe('P-11 … P, oldest first'),
};

export const IndicatorResultSchema = z
  .object({
    ...judged,
    unit: z.enum(['%', 'h', 's', 'count', 'score', 'points', 'per1000']),
    direction: z.enum(['higher', 'lower', 'neutral']),
    category: z.enum(CATEGORIES),
    target: z.number().nullable(),
    warn: z.number().nullable(),
    /** Burst reports only (functions/render/burst.ts): the company figure beside the segment's own. */
    company: z
      .object({ value, status: z.enum(STATUSES) })
      .strict()
      .optional()
      .describe("a burst report only: the whole company's value and status, for comparison"),
    segmented: z
      .boolean()
      .optional()
      .describe("a burst report only: false when the indicator is not broken down by the scope's kind (its own figures are then null / no_data)"),
  })
  .strict();

export const SegmentResultSchema = z.object(judged).strict();

const segmentMap = z.record(z.string(), z.record(z.string(), SegmentResultSchema));

export const TableQualitySchema = z
  .object({
    present: z.boolean().describe('false when the table has no files at all (its indicators are no_data)'),
    rowsRead: count,
    duplicatesDropped: count,
    rejected: z.partialRecord(z.enum(REJECT_REASONS), count).describe('non-zero counts only, by reason'),
    recordsUsed: count,
    newestUpdatedAt: instant.nullable(),
    missingColumns: z.array(z.string()).describe('optional columns that no file of the table has (the indicators reading them are no_data)'),
    failedFiles: z
      .array(z.object({ file: z.string().min(1), error: z.string() }).strict())
      .describe('raw exports of the table that could not be imported (their rows are missing from the report); [] when none'),
  })
  .strict();

/**
 * Why the data gate (functions/metrics/gate.ts) holds a report, one entry per finding. `table` names
 * the needed table it concerns (none for period_not_ended); the other fields are the figures the
 * finding rests on.
 */
export const GATE_REASONS = ['table_missing', 'table_empty', 'rejected_share', 'stale', 'data_ends_early', 'period_not_ended'] as const;
export type GateReasonCode = (typeof GATE_REASONS)[number];
export const GateReasonSchema = z
  .object({
    code: z.enum(GATE_REASONS),
    table: z.enum(TABLES).optional(),
    rejected: count.optional().describe('rejected_share: rows rejected (every reason)'),
    rowsRead: count.optional().describe('rejected_share: rows read'),
    share: z.number().min(0).max(1).optional().describe('rejected_share: rejected / rowsRead'),
    limit: z.number().optional().describe('the threshold crossed: maxRejectedShare, staleAfterDays or dataEndToleranceHours'),
    newest: instant.optional().describe('stale, data_ends_early: the newest record of the table'),
    hoursBeforeEnd: z.number().optional().describe("stale, data_ends_early: how long before the period's end the newest record is"),
  })
  .strict();
export type GateReason = z.infer<typeof GateReasonSchema>;
export const GateResultSchema = z
  .object({
    held: z.boolean().describe('true when the data is not fit to report (reasons say why; judged at generatedAt); a held report is not rendered or sent unless allowed'),
    allowIncomplete: z.boolean().describe('rendered anyway (--allow-incomplete): the reasons are printed on the first page'),
    tables: z.array(z.enum(TABLES)).describe("the tables the report's indicators read"),
    reasons: z.array(GateReasonSchema),
  })
  .strict();
export type GateResult = z.infer<typeof GateResultSchema>;

export const MetricsJsonSchema = z
  .object({
    schemaVersion: z.literal(1),
    reportId: z.string().min(1),
    locale: z.string().min(1),
    period: z.object({ id: periodId, timezone: z.string().min(1), start: instant, end: instant }).strict(),
    generatedAt: instant,
    scope: z
      .object({ kind: z.enum(SEGMENT_KINDS as readonly SegmentKind[] as [SegmentKind, ...SegmentKind[]]), value: z.string() })
      .strict()
      .optional()
      .describe("a burst report only: the team or channel whose figures `indicators` hold (absent: the whole company)"),
    indicators: z.record(z.string(), IndicatorResultSchema),
    segments: z.object({ team: segmentMap, channel: segmentMap }).strict(),
    dataQuality: z.object(Object.fromEntries(TABLES.map((t) => [t, TableQualitySchema])) as Record<(typeof TABLES)[number], typeof TableQualitySchema>).strict(),
    gate: GateResultSchema.optional().describe('the data gate\'s verdict on this data (absent in files written before the gate)'),
    settings: z
      .object({
        minSample: count,
        sla: z.object({ firstResponseHours: z.number().positive(), complaintResolutionHours: z.number().positive() }).strict(),
      })
      .strict(),
  })
  .strict();

export type MetricsJson = z.infer<typeof MetricsJsonSchema>;
export type IndicatorResult = z.infer<typeof IndicatorResultSchema>;
export type SegmentResult = z.infer<typeof SegmentResultSchema>;
export type TrendPoint = z.infer<typeof TrendPointSchema>;
export type TableQuality = z.infer<typeof TableQualitySchema>;

export class MetricsJsonError extends Error {
  override name = 'MetricsJsonError';
}

/** A metrics.json value checked against the schema; `source` names it in the error (file or key). */
export function parseMetricsJson(data: unknown, source: string): MetricsJson {
  const r = MetricsJsonSchema.safeParse(data);
  if (r.success) return r.data;
  const problems = formatZodIssues(r.error);
  throw new MetricsJsonError(`${source}: not a valid metrics.json (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '; …' : ''}`);
}

/** metrics.json text (a file's contents) parsed and checked. */
export function parseMetricsJsonText(text: string, source: string): MetricsJson {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new MetricsJsonError(`${source}: not JSON: ${(e as Error).message}`);
  }
  return parseMetricsJson(data, source);
}
