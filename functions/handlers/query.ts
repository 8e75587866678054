/**
 * Query state: the indicator queries on Athena, evaluated against the targets, judged by the data
 * gate (functions/metrics/gate.ts), written as metrics.json to the run's scratch space in the
 * archive bucket (`work/<runId>/`).
 *
 * The gate's verdict is returned for the state machine to act on (`gate`): when it holds, the
 * machine waits `recheckSeconds` and runs this state again (the input then carries the previous
 * verdict's `firstHeldAt`); once the report's `gate.deadlineHours` have passed since the first
 * hold, `giveUp` is true and the machine tells ops the reasons and ends without rendering or
 * sending anything.
 */
import { z } from 'zod';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { AthenaClient } from '@aws-sdk/client-athena';
import type { Logger } from '@aws-lambda-powertools/logger';
import { createAthenaEngine, type AthenaEngineOptions } from '../engine/athenaEngine.js';
import type { QueryEngine } from '../engine/engine.js';
import { workKeys } from '../deliver/keys.js';
import type { ReportsFile } from '../pipeline/reportsConfig.js';
import type { TargetsConfig } from '../pipeline/targets.js';
import { InvalidEventError, parseEvent, reportById, StepEventSchema, type StepEvent } from './runtime.js';
import { computeMetrics } from '../metrics/computeMetrics.js';
import { TABLES, type TableName } from '../pipeline/contract.js';
import { describeGateReason, judgeGate } from '../metrics/gate.js';

export interface QueryDeps {
  athena: AthenaClient;
  s3: S3Client;
  reports: ReportsFile;
  targets: TargetsConfig;
  workgroup: string;
  database: string;
  curatedBucket: string;
  curatedPrefix: string;
  archiveBucket: string;
  logger: Logger;
  /**
   * The engine to query; default: Athena with the settings above. (The local integration test
   * passes DuckDB over the curated Parquet here, standing in for Athena.)
   */
  openEngine?: () => Promise<QueryEngine>;
  /** Engine tuning (tests inject a sleep that returns at once). */
  engine?: Pick<AthenaEngineOptions, 'sleep' | 'pollIntervalMs' | 'timeoutMs'>;
  now?: () => Date;
  /** With a source mapping: the tables it maps, the only ones the data gate judges (see gate.ts). */
  mappedTables?: readonly TableName[];
}

/** The data gate's verdict as the state machine reads it. */
export type GateVerdict =
  | { held: false }
  | {
      held: true;
      /** One English line per reason (for the ops notice; metrics.json has them structured). */
      reasons: string[];
      /** When this run was first held: the deadline counts from here. */
      firstHeldAt: string;
      /** Until the next check (never past the deadline). */
      recheckSeconds: number;
      /** The deadline has passed: tell ops, send nothing. */
      giveUp: boolean;
    };

export interface QueryResult extends StepEvent {
  metricsKey: string;
  statusCounts: Record<string, number>;
  /** Raw exports that could not be imported (all tables): above 0, the workflow tells ops. */
  ingestFailures: number;
  gate: GateVerdict;
}

/** The MAPPED_TABLES variable (comma-separated canonical tables); undefined when unset. */
export function mappedTables(value: string | undefined): TableName[] | undefined {
  if (!value) return undefined;
  const names = value.split(',').map((t) => t.trim());
  const unknown = names.filter((t) => !(TABLES as readonly string[]).includes(t));
  if (unknown.length) throw new InvalidEventError(`environment variable MAPPED_TABLES: not a canonical table: ${unknown.join(', ')}`);
  return names as TableName[];
}

/** A step event, with the verdict of an earlier check of this run when the machine re-checks. */
const QueryEventSchema = StepEventSchema.extend({
  gate: z.object({ firstHeldAt: z.iso.datetime().optional() }).optional(),
});

/** The verdict for the machine: wait and re-check until `deadlineHours` after `firstHeldAt`, then give up. */
export function gateVerdict(
  held: boolean,
  reasons: string[],
  gate: { recheckEveryHours: number; deadlineHours: number },
  now: Date,
  previousFirstHeldAt?: string,
): GateVerdict {
  if (!held) return { held: false };
  const firstHeldAt = previousFirstHeldAt ?? now.toISOString();
  const left = Date.parse(firstHeldAt) + gate.deadlineHours * 3_600_000 - now.getTime();
  const giveUp = left <= 0;
  const recheckSeconds = giveUp ? 0 : Math.max(1, Math.ceil(Math.min(gate.recheckEveryHours * 3_600_000, left) / 1000));
  return { held: true, reasons, firstHeldAt, recheckSeconds, giveUp };
}

export function createQueryHandler(deps: QueryDeps) {
  return async (event: unknown): Promise<QueryResult> => {
    const { gate: previous, ...e } = parseEvent(QueryEventSchema, event);
    deps.logger.appendKeys({ reportId: e.reportId, period: e.period, runId: e.runId });
    try {
      const report = reportById(deps.reports, e.reportId);
      const engine = deps.openEngine ? await deps.openEngine() : createAthenaEngine({
        athena: deps.athena,
        s3: deps.s3,
        workgroup: deps.workgroup,
        database: deps.database,
        curatedBucket: deps.curatedBucket,
        curatedPrefix: deps.curatedPrefix,
        log: (msg, extra) => deps.logger.info(msg, { ...extra }),
        ...deps.engine,
      });
      try {
        const now = deps.now?.() ?? new Date();
        const metrics = await computeMetrics({
          engine,
          period: e.period,
          timezone: report.timezone,
          targets: deps.targets,
          reportId: report.id,
          locale: report.locale,
          now,
        });
        metrics.gate = judgeGate(metrics, report, { now, provided: deps.mappedTables ? new Set(deps.mappedTables) : undefined });
        const key = workKeys(e.runId).metrics;
        await deps.s3.send(
          new PutObjectCommand({
            Bucket: deps.archiveBucket,
            Key: key,
            Body: JSON.stringify(metrics, null, 2),
            ContentType: 'application/json; charset=utf-8',
          }),
        );
        const statusCounts: Record<string, number> = {};
        for (const r of Object.values(metrics.indicators)) statusCounts[r.status] = (statusCounts[r.status] ?? 0) + 1;
        const ingestFailures = Object.values(metrics.dataQuality).reduce((n, q) => n + q.failedFiles.length, 0);
        if (ingestFailures > 0) {
          const failedFiles = Object.fromEntries(Object.entries(metrics.dataQuality).filter(([, q]) => q.failedFiles.length).map(([t, q]) => [t, q.failedFiles.map((f) => f.file)]));
          deps.logger.warn('report computed with export files that could not be imported', { ingestFailures, failedFiles });
        }
        const reasons = metrics.gate.reasons.map((r) => describeGateReason(r, metrics));
        const gate = gateVerdict(metrics.gate.held, reasons, report.gate, now, previous?.firstHeldAt);
        if (gate.held) deps.logger.warn(gate.giveUp ? 'report held by the data gate: deadline passed, nothing is sent' : 'report held by the data gate: re-checking later', { reasons, firstHeldAt: gate.firstHeldAt, recheckSeconds: gate.recheckSeconds });
        deps.logger.info('metrics computed', { statusCounts, metricsKey: key, ingestFailures, held: gate.held });
        return { ...e, metricsKey: key, statusCounts, ingestFailures, gate };
      } finally {
        await engine.close();
      }
    } finally {
      deps.logger.removeKeys(['reportId', 'period', 'runId']);
    }
  };
}
