/**
 * Query state: the indicator queries on Athena, evaluated against the targets, written as
 * metrics.json to the run's scratch space in the archive bucket (`work/<runId>/`).
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { AthenaClient } from '@aws-sdk/client-athena';
import type { Logger } from '@aws-lambda-powertools/logger';
import { createAthenaEngine, type AthenaEngineOptions } from '../engine/athenaEngine.js';
import type { QueryEngine } from '../engine/engine.js';
import { workKeys } from '../deliver/keys.js';
import type { ReportsFile } from '../pipeline/reportsConfig.js';
import type { TargetsConfig } from '../pipeline/targets.js';
import { parseEvent, reportById, StepEventSchema, type StepEvent } from './runtime.js';
import { computeMetrics } from '../metrics/computeMetrics.js';

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
}

export interface QueryResult extends StepEvent {
  metricsKey: string;
  statusCounts: Record<string, number>;
  /** Raw exports that could not be imported (all tables): above 0, the workflow tells ops. */
  ingestFailures: number;
}

export function createQueryHandler(deps: QueryDeps) {
  return async (event: unknown): Promise<QueryResult> => {
    const e = parseEvent(StepEventSchema, event);
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
        const metrics = await computeMetrics({
          engine,
          period: e.period,
          timezone: report.timezone,
          targets: deps.targets,
          reportId: report.id,
          locale: report.locale,
          now: deps.now?.(),
        });
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
        deps.logger.info('metrics computed', { statusCounts, metricsKey: key, ingestFailures });
        return { ...e, metricsKey: key, statusCounts, ingestFailures };
      } finally {
        await engine.close();
      }
    } finally {
      deps.logger.removeKeys(['reportId', 'period', 'runId']);
    }
  };
}
