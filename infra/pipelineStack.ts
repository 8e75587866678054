/**
 * The whole pipeline on AWS in one stack (env-agnostic: no lookups, synthesizes with no account).
 *
 *   exports bucket: raw/<table>/dt=.../file  --S3 event-->  ingest  -->  curated/<table>/dt=.../file.parquet
 *   Glue tables over curated/ (partition projection)  <--  Athena workgroup (cutoff, encrypted results)
 *   Scheduler (per report, its cron and time zone) --> state machine: period -> query -> render -> archive+deliver
 *   failures --> ops SNS topic (catch in the state machine, CloudWatch alarms; ingest's on-failure queue, alarmed)
 */
import { ArnFormat, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { TimeZone } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { FONT_WEIGHTS } from '../functions/render/fonts.js';
import { DataCatalog } from './constructs/dataCatalog.js';
import { PipelineFunction } from './constructs/pipelineFunction.js';
import { QueryWorkgroup } from './constructs/queryWorkgroup.js';
import { ReportWorkflow } from './constructs/reportWorkflow.js';
import { SecureBucket } from './constructs/secureBucket.js';
import { acknowledgeBucketNotificationsHandler, acknowledgePrefixObjects, acknowledgeIngestFailureQueue, acknowledgeScheduleDlq, acknowledgeWorkflow } from './nagSuppressions.js';
import type { Settings } from './settings.js';

export interface PipelineStackProps extends StackProps {
  settings: Settings;
}

export const ATHENA_RESULTS_PREFIX = 'athena/';

export class PipelineStack extends Stack {
  readonly functions: Record<'resolvePeriod' | 'query' | 'render' | 'deliver' | 'ingest', PipelineFunction>;
  readonly stateMachineArn: string;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const s = props.settings;
    const retention = s.logRetentionDays as logs.RetentionDays;

    // --- storage ---------------------------------------------------------------------------
    const accessLogs = new SecureBucket(this, 'AccessLogs', { lifecycleRules: [{ id: 'expire-logs', expiration: Duration.days(365) }] });
    const exports: s3.IBucket = s.exportsBucketName
      ? s3.Bucket.fromBucketName(this, 'Exports', s.exportsBucketName)
      : new SecureBucket(this, 'Exports', { accessLogs: { bucket: accessLogs, prefix: 'exports/' } });
    const archive = new SecureBucket(this, 'Archive', {
      versioned: true,
      accessLogs: { bucket: accessLogs, prefix: 'archive/' },
      lifecycleRules: [
        // work/<execution>/ holds one run's metrics.json and PDF until they are archived.
        { id: 'expire-run-scratch', prefix: 'work/', expiration: Duration.days(7), noncurrentVersionExpiration: Duration.days(1) },
      ],
    });
    const results = new SecureBucket(this, 'AthenaResults', {
      accessLogs: { bucket: accessLogs, prefix: 'athena-results/' },
      lifecycleRules: [{ id: 'expire-query-results', expiration: Duration.days(7) }],
    });

    // --- catalog and query engine ----------------------------------------------------------------
    const catalog = new DataCatalog(this, 'Catalog', {
      databaseName: s.name.replace(/-/g, '_'),
      bucket: exports,
      curatedPrefix: s.curatedPrefix,
      since: s.exportsSince,
    });
    const workgroup = new QueryWorkgroup(this, 'Athena', {
      name: s.name,
      resultsBucket: results,
      resultsPrefix: ATHENA_RESULTS_PREFIX,
      bytesScannedCutoffPerQuery: s.bytesScannedCutoffPerQuery,
    });

    // --- ops notifications ----------------------------------------------------------------------
    const opsKey = new kms.Key(this, 'OpsTopicKey', { enableKeyRotation: true, description: 'Encrypts the ops notification topic' });
    // CloudWatch alarms publish as the CloudWatch service, which needs the topic policy's Allow and,
    // the topic being encrypted, the key (SNS guide: "access policy use cases" and "key management,
    // compatibility with AWS services"). Both only on behalf of this account's alarms.
    const cloudwatchPrincipal = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    const fromOurAlarms = {
      StringEquals: { 'aws:SourceAccount': this.account },
      ArnLike: { 'aws:SourceArn': this.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
    };
    opsKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsUseKey',
        principals: [cloudwatchPrincipal],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromOurAlarms,
      }),
    );
    // enforceSSL alone makes a policy with nothing but its Deny: the Allows below are the only
    // publishers besides identity policies of this account (the state machine's role, added below).
    const opsTopic = new sns.Topic(this, 'OpsTopic', { displayName: 'CRM service report: ops', masterKey: opsKey, enforceSSL: true });
    opsTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [cloudwatchPrincipal],
        actions: ['sns:Publish'],
        resources: [opsTopic.topicArn],
        conditions: fromOurAlarms,
      }),
    );
    if (s.opsEmail) opsTopic.addSubscription(new subs.EmailSubscription(s.opsEmail));

    // --- functions -------------------------------------------------------------------------------
    const fn = (id: string, p: Omit<ConstructorParameters<typeof PipelineFunction>[2], 'rootDir' | 'logRetention'>) =>
      new PipelineFunction(this, id, { rootDir: s.rootDir, logRetention: retention, ...p });
    const common = { copyDirs: ['config'] };
    this.functions = {
      resolvePeriod: fn('ResolvePeriod', {
        ...common,
        entry: 'functions/handlers/lambda/resolvePeriod.ts',
        description: 'Report state machine, step 1: the period that just closed in the report time zone',
        memorySize: 256,
        timeout: Duration.seconds(10),
      }),
      query: fn('Query', {
        ...common,
        entry: 'functions/handlers/lambda/query.ts',
        description: 'Report state machine, step 2: indicator queries on Athena -> metrics.json',
        memorySize: 512,
        timeout: Duration.minutes(15),
        environment: {
          ATHENA_WORKGROUP: workgroup.name,
          GLUE_DATABASE: catalog.databaseName,
          CURATED_BUCKET: exports.bucketName,
          CURATED_PREFIX: s.curatedPrefix,
          ARCHIVE_BUCKET: archive.bucketName,
          // The data gate judges only the tables a source mapping maps.
          ...(s.mapping ? { MAPPED_TABLES: Object.keys(s.mapping.tables).join(',') } : {}),
        },
      }),
      render: fn('Render', {
        copyDirs: ['config', 'templates'],
        entry: 'functions/handlers/lambda/render.ts',
        description: 'Report state machine, step 3: metrics.json -> PDF with headless Chromium',
        memorySize: 2048,
        timeout: Duration.minutes(3),
        // Chromium unpacks its binary into /tmp on first use.
        ephemeralStorageMiB: 1024,
        // subset-font reads HarfBuzz's wasm from its package folder (functions/render/fonts.ts cuts the fonts with it).
        nodeModules: ['@sparticuz/chromium', 'puppeteer-core', '@fontsource/noto-sans', '@fontsource/noto-sans-sc', 'subset-font'],
        // The report embeds only these weights: leave the other font files out of the package.
        pruneCommands: [
          `find "$OUT/node_modules/@fontsource" -type f -name '*.woff*' ${FONT_WEIGHTS.map((w) => `! -name '*-${w}-*'`).join(' ')} -delete`,
        ],
        environment: { ARCHIVE_BUCKET: archive.bucketName },
      }),
      deliver: fn('Deliver', {
        ...common,
        // The mail's words are the PDF's: the built-in locales and a templates folder's overrides.
        copyDirs: ['config', 'templates'],
        entry: 'functions/handlers/lambda/deliver.ts',
        description: 'Report state machine, step 4: archive the report and e-mail it once through SES',
        memorySize: 512,
        timeout: Duration.minutes(2),
        environment: {
          ARCHIVE_BUCKET: archive.bucketName,
          SENDER: s.sender,
          ATTACH_LIMIT_BYTES: String(s.attachLimitBytes),
          LINK_EXPIRES_SECONDS: String(s.linkExpiresSeconds),
          ...(s.sesConfigurationSet ? { SES_CONFIGURATION_SET: s.sesConfigurationSet } : {}),
        },
      }),
      ingest: fn('Ingest', {
        ...common,
        entry: 'functions/handlers/lambda/ingest.ts',
        description: 'Normalizes each raw CRM export into canonical all-text Parquet for Athena',
        memorySize: 3008,
        timeout: Duration.minutes(10),
        ephemeralStorageMiB: 4096,
        nodeModules: ['@duckdb/node-api', '@duckdb/node-bindings-linux-x64'],
        // With a mapping every change rebuilds all mapped tables: one rebuild at a time.
        reservedConcurrentExecutions: s.mapping ? 1 : undefined,
        environment: {
          EXPORTS_BUCKET: exports.bucketName,
          RAW_PREFIX: s.rawPrefix,
          CURATED_PREFIX: s.curatedPrefix,
          UNDATED_PARTITION: s.exportsSince,
          ...(s.mappingFile ? { MAPPING_FILE: s.mappingFile } : {}),
        },
      }),
    };
    const F = this.functions;

    // --- permissions: each names its resources ----------------------------------------------------
    const allow = (f: PipelineFunction, actions: string[], resources: string[], conditions?: Record<string, unknown>) => {
      f.role.addToPolicy(new iam.PolicyStatement({ actions, resources, conditions }));
      acknowledgePrefixObjects(f.role, resources.filter((r) => r.endsWith('/*')));
    };
    const objects = (b: s3.IBucket, prefix: string) => b.arnForObjects(`${prefix}*`);
    const listUnder = (f: PipelineFunction, b: s3.IBucket, prefix: string) =>
      allow(f, ['s3:ListBucket'], [b.bucketArn], { StringLike: { 's3:prefix': [`${prefix}*`] } });

    // query: Athena in its workgroup, Glue metadata of our database, curated data, results, scratch.
    allow(F.query, ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution'], [workgroup.arn]);
    allow(F.query, ['glue:GetDatabase', 'glue:GetTable', 'glue:GetTables', 'glue:GetPartition', 'glue:GetPartitions'], [catalog.catalogArn, catalog.databaseArn, ...catalog.tableArns]);
    allow(F.query, ['s3:GetObject'], [objects(exports, `${s.curatedPrefix}/`)]);
    listUnder(F.query, exports, `${s.curatedPrefix}/`);
    allow(F.query, ['s3:GetBucketLocation'], [exports.bucketArn, results.bucketArn]);
    allow(F.query, ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'], [objects(results, ATHENA_RESULTS_PREFIX)]);
    listUnder(F.query, results, ATHENA_RESULTS_PREFIX);
    allow(F.query, ['s3:PutObject'], [objects(archive, 'work/')]);
    // render: the run's scratch space, and the analysts' commentary (read only; functions/render/commentary.ts).
    allow(F.render, ['s3:GetObject', 's3:PutObject'], [objects(archive, 'work/')]);
    allow(F.render, ['s3:GetObject'], [objects(archive, 'commentary/')]);
    listUnder(F.render, archive, 'commentary/'); // so a month without commentary reads as 404, not 403
    // deliver: read the scratch space, write the archive, send as the verified identity.
    allow(F.deliver, ['s3:GetObject'], [objects(archive, 'work/')]);
    allow(F.deliver, ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], [objects(archive, 'reports/')]);
    listUnder(F.deliver, archive, 'reports/'); // so a missing key reads as 404, not 403
    const sesResources = [this.formatArn({ service: 'ses', resource: 'identity', resourceName: s.sesIdentity })];
    if (s.sesConfigurationSet) sesResources.push(this.formatArn({ service: 'ses', resource: 'configuration-set', resourceName: s.sesConfigurationSet }));
    allow(F.deliver, ['ses:SendEmail', 'ses:SendRawEmail'], sesResources);
    // ingest: raw exports in, curated Parquet out.
    allow(F.ingest, ['s3:GetObject'], [objects(exports, s.rawPrefix)]);
    listUnder(F.ingest, exports, s.rawPrefix);
    allow(F.ingest, ['s3:PutObject', 's3:DeleteObject'], [objects(exports, `${s.curatedPrefix}/`)]);

    // --- ingest trigger ---------------------------------------------------------------------------
    const dest = new s3n.LambdaDestination(F.ingest.fn);
    exports.addEventNotification(s3.EventType.OBJECT_CREATED, dest, { prefix: s.rawPrefix });
    exports.addEventNotification(s3.EventType.OBJECT_REMOVED, dest, { prefix: s.rawPrefix });
    // S3 invokes ingest asynchronously: a file that still fails after two retries lands here
    // (the event and the error) instead of being dropped; an alarm below tells ops.
    const ingestFailures = new sqs.Queue(this, 'IngestFailures', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    F.ingest.fn.configureAsyncInvoke({ onFailure: new SqsDestination(ingestFailures), retryAttempts: 2 });

    // --- workflow and schedules ---------------------------------------------------------------------
    const workflow = new ReportWorkflow(this, 'Workflow', {
      resolvePeriod: F.resolvePeriod.fn,
      query: F.query.fn,
      render: F.render.fn,
      deliver: F.deliver.fn,
      opsTopic,
      logRetention: retention,
      holdDeadline: Duration.minutes(Math.ceil(60 * Math.max(...s.reports.reports.map((r) => r.gate.deadlineHours)))),
    });
    workflow.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [opsKey.keyArn] }));
    // Its catch publishes to ops (SnsPublish grants sns:Publish in the role's policy); named in the
    // topic policy too, so the policy lists every publisher.
    opsTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'StateMachinePublish',
        principals: [workflow.stateMachine.role],
        actions: ['sns:Publish'],
        resources: [opsTopic.topicArn],
      }),
    );
    this.stateMachineArn = workflow.stateMachine.stateMachineArn;

    const scheduleDlq = new sqs.Queue(this, 'ScheduleDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    for (const report of s.reports.reports) {
      new scheduler.Schedule(this, `Schedule-${report.id}`, {
        description: `${report.title}: ${report.schedule} in ${report.timezone}, for the month that just closed`,
        schedule: scheduler.ScheduleExpression.expression(report.schedule, TimeZone.of(report.timezone)),
        timeWindow: scheduler.TimeWindow.off(),
        target: new targets.StepFunctionsStartExecution(workflow.stateMachine, {
          input: scheduler.ScheduleTargetInput.fromObject({ reportId: report.id, scheduledTime: scheduler.ContextAttribute.scheduledTime }),
          deadLetterQueue: scheduleDlq,
          retryAttempts: 3,
          maxEventAge: Duration.hours(6),
        }),
      });
    }

    // --- alarms -> ops --------------------------------------------------------------------------------
    const toOps = new cwActions.SnsAction(opsTopic);
    const alarm = (id: string, metric: cloudwatch.IMetric, description: string) => {
      const a = new cloudwatch.Alarm(this, id, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      a.addAlarmAction(toOps);
      return a;
    };
    const sm = workflow.stateMachine;
    const fiveMin = { period: Duration.minutes(5), statistic: 'Sum' };
    alarm('ExecutionsFailedAlarm', sm.metricFailed(fiveMin), 'A report run failed (see the ops notification for the error).');
    alarm('ExecutionsTimedOutAlarm', sm.metricTimedOut(fiveMin), 'A report run timed out.');
    alarm('ExecutionsAbortedAlarm', sm.metricAborted(fiveMin), 'A report run was aborted.');
    for (const [name, f] of Object.entries(F) as [string, PipelineFunction][]) {
      alarm(`${name}ErrorsAlarm`, (f.fn as lambda.Function).metricErrors(fiveMin), `The ${name} function reported errors.`);
    }
    alarm(
      'ScheduleDeadLettersAlarm',
      scheduleDlq.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      'A schedule could not start the report state machine.',
    );
    alarm(
      'IngestFailuresAlarm',
      ingestFailures.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      'An export file could not be ingested after two retries: its event and error wait in the ingest failure queue.',
    );

    new CfnOutput(this, 'StateMachineArn', { value: sm.stateMachineArn, description: 'npm run backfill -- --state-machine <this>' });
    new CfnOutput(this, 'ExportsBucketName', { value: exports.bucketName, description: `Upload exports under s3://<this>/${s.rawPrefix}<table>/dt=YYYY-MM-DD/` });
    new CfnOutput(this, 'ArchiveBucketName', { value: archive.bucketName });
    new CfnOutput(this, 'OpsTopicArn', { value: opsTopic.topicArn });

    acknowledgeWorkflow(sm.role, [F.resolvePeriod.fn, F.query.fn, F.render.fn, F.deliver.fn]);
    acknowledgeScheduleDlq(scheduleDlq);
    acknowledgeIngestFailureQueue(ingestFailures);
    acknowledgeBucketNotificationsHandler(this);
  }
}
