/**
 * First state: which period does this run report on? A scheduled run reports on the month that
 * closed before the schedule fired, in the report's own time zone (a schedule firing at 07:00 on
 * the 1st in Asia/Shanghai is still the last day of the previous month in UTC). A backfill or
 * manual run names its period.
 */
import { lastClosedPeriod } from '../pipeline/period.js';
import type { ReportsFile } from '../pipeline/reportsConfig.js';
import { parseEvent, reportById, StartEventSchema, type StepEvent } from './runtime.js';

export interface ResolvedPeriod extends StepEvent {
  timezone: string;
}

export function createResolvePeriodHandler(deps: { reports: ReportsFile }) {
  return async (event: unknown): Promise<ResolvedPeriod> => {
    // The state machine passes its own input as `start` and the execution name as `runId`.
    const envelope = event as { start?: Record<string, unknown>; runId?: unknown };
    const e = parseEvent(StartEventSchema, envelope?.start ? { ...envelope.start, runId: envelope.runId } : event);
    const report = reportById(deps.reports, e.reportId);
    const period = e.period ?? lastClosedPeriod(report.timezone, new Date(e.scheduledTime!));
    return { reportId: report.id, period, timezone: report.timezone, force: e.force, ...(e.testTo ? { testTo: e.testTo } : {}), runId: e.runId };
  };
}
