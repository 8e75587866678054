/**
 * metrics.json (spec/metrics-json.md, schemaVersion 1): the typed data every later stage reads.
 */
import type { Direction, IndicatorDef, TableName } from './catalog.js';

export type Status = 'met' | 'at_risk' | 'missed' | 'no_target' | 'no_data';

export const REJECT_REASONS = [
  'missing_key',
  'bad_updated_at',
  'bad_value',
  'missing_required',
  'out_of_range',
  'inconsistent_times',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export interface TrendPoint {
  period: string; // YYYY-MM
  value: number | null;
  n: number;
}

export interface IndicatorResult {
  value: number | null;
  n: number;
  unit: IndicatorDef['unit'];
  direction: Direction;
  target: number | null;
  warn: number | null;
  status: Status;
  lowSample: boolean;
  previous: number | null;
  trend: TrendPoint[]; // exactly 12, oldest first, last = period.id
}

export interface SegmentValue {
  value: number | null;
  n: number;
}

export interface TableQuality {
  /** False when the table has no files at all (its indicators are no_data). */
  present: boolean;
  rowsRead: number;
  duplicatesDropped: number;
  /** Non-zero counts only, by reason. */
  rejected: Partial<Record<RejectReason, number>>;
  recordsUsed: number;
  newestUpdatedAt: string | null;
}

export interface PeriodInfo {
  id: string; // YYYY-MM
  timezone: string; // IANA
  start: string; // ISO UTC with ms
  end: string;
}

export interface MetricsJson {
  schemaVersion: 1;
  reportId: string;
  locale: string;
  period: PeriodInfo;
  generatedAt: string;
  indicators: Record<string, IndicatorResult>;
  segments: {
    team: Record<string, Record<string, SegmentValue>>;
    channel: Record<string, Record<string, SegmentValue>>;
  };
  dataQuality: Record<TableName, TableQuality>;
  /** The thresholds in force for this run (from the targets file). */
  settings: {
    minSample: number;
    sla: { firstResponseHours: number; complaintResolutionHours: number };
  };
}
