/**
 * What every Lambda adapter shares: configuration read once at cold start (a missing variable
 * fails the container at once, naming it), structured JSON logs (Powertools) that carry the
 * report id and period, and the event shapes the state machine passes between states.
 */
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import { type ReportDef, type ReportsFile } from '../pipeline/reportsConfig.js';
import { PERIOD_ID_RE } from '../pipeline/period.js';
import { loadReports } from '../metrics/config.js';

/** A required environment variable is not set: the function is misdeployed. */
export class MissingEnvError extends Error {
  override name = 'MissingEnvError';
  constructor(readonly variables: string[]) {
    super(`missing environment variable${variables.length > 1 ? 's' : ''}: ${variables.join(', ')}`);
  }
}

/** The state's input does not have the expected shape (a wrong schedule or backfill payload). */
export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Reads the named variables; throws one MissingEnvError listing every one that is unset or empty. */
export function requireEnv<const K extends string>(names: readonly K[], env: NodeJS.ProcessEnv = process.env): Record<K, string> {
  const missing = names.filter((n) => !env[n]);
  if (missing.length) throw new MissingEnvError(missing);
  return Object.fromEntries(names.map((n) => [n, env[n]!])) as Record<K, string>;
}

export function optionalInt(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidEventError(`environment variable ${name} must be a positive integer, got "${v}"`);
  return n;
}

export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName, logLevel: (process.env.LOG_LEVEL as 'INFO' | undefined) ?? 'INFO' });
}

/** Config files shipped beside the handler (CONFIG_DIR): reports.yaml, targets.yaml, mappings/. */
export function configPath(configDir: string, file: string): string {
  return join(configDir, file);
}

export function loadReportsFrom(configDir: string): ReportsFile {
  return loadReports(configPath(configDir, 'reports.yaml'));
}

export function reportById(reports: ReportsFile, id: string): ReportDef {
  const r = reports.reports.find((x) => x.id === id);
  if (!r) throw new InvalidEventError(`unknown report "${id}"; deployed reports: ${reports.reports.map((x) => x.id).join(', ')}`);
  return r;
}

const periodId = z.string().regex(PERIOD_ID_RE, 'a period YYYY-MM');
const runId = z.string().regex(/^[A-Za-z0-9_.:-]{1,80}$/, 'an execution name');

/** What the schedule (or backfill) starts the state machine with. */
export const StartEventSchema = z
  .object({
    reportId: z.string().min(1),
    /** EventBridge Scheduler's <aws.scheduler.scheduled-time>: the report covers the month before it. */
    scheduledTime: z.iso.datetime({ offset: true }).optional(),
    /** An explicit period (backfill, manual re-run); wins over scheduledTime. */
    period: periodId.optional(),
    force: z.boolean().default(false),
    /** Send one copy marked as a test to this address only; nothing is archived or recorded (deliver). */
    testTo: z.email().optional(),
    runId,
  })
  .refine((e) => e.period || e.scheduledTime, { message: 'needs period or scheduledTime' });

/** What every later state receives. */
export const StepEventSchema = z.object({
  reportId: z.string().min(1),
  period: periodId,
  force: z.boolean().default(false),
  /** A test send to this one address (StartEventSchema). */
  testTo: z.email().optional(),
  runId,
  /** A burst report's iteration (the render state lists them, functions/render/burst.ts): that team's or channel's report. */
  burst: z.object({ kind: z.enum(['team', 'channel']), value: z.string().min(1) }).strict().optional(),
});
export type StepEvent = z.infer<typeof StepEventSchema>;

export function parseEvent<T>(schema: z.ZodType<T>, event: unknown): T {
  const r = schema.safeParse(event);
  if (!r.success) {
    throw new InvalidEventError(`invalid input: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}
