/**
 * The synthesized template, asserted precisely: schedules with their time zones, the state
 * machine's retries and catch, the workgroup, the Glue tables, alarms, buckets, IAM, cdk-nag.
 */
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONTRACT } from '../../functions/pipeline/contract.js';
import { ROOT, synthStack, type Synthesized } from './support/synth.js';
import { loadReports } from '../../functions/metrics/config.js';

let synth: Synthesized;
let t: Template;
const reports = loadReports(`${ROOT}/config/reports.yaml`).reports;

beforeAll(() => {
  synth = synthStack();
  t = synth.template;
});

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;
const resources = () => t.toJSON().Resources as Resources;

describe('schedules', () => {
  it('has one schedule per report with its cron and IANA time zone, starting the state machine for that report', () => {
    t.resourceCountIs('AWS::Scheduler::Schedule', reports.length);
    for (const r of reports) {
      const input = new Capture();
      t.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: r.schedule,
        ScheduleExpressionTimezone: r.timezone,
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: Match.objectLike({
          Arn: { Ref: Match.stringLikeRegexp('StateMachine') },
          Input: input,
          DeadLetterConfig: Match.objectLike({ Arn: Match.anyValue() }),
        }),
      });
      // Several schedules match the shape; find the one of this report.
      const all = Object.values(resources()).filter((x) => x.Type === 'AWS::Scheduler::Schedule');
      const mine = all.find((x) => JSON.parse(((x.Properties!['Target'] as { Input: string }).Input)).reportId === r.id);
      expect(mine, r.id).toBeDefined();
      expect(mine!.Properties!['ScheduleExpressionTimezone']).toBe(r.timezone);
      expect(JSON.parse((mine!.Properties!['Target'] as { Input: string }).Input)).toEqual({ reportId: r.id, scheduledTime: '<aws.scheduler.scheduled-time>' });
    }
  });
});

describe('state machine', () => {
  const definition = () => {
    const sm = Object.values(resources()).find((x) => x.Type === 'AWS::StepFunctions::StateMachine')!;
    const body = sm.Properties!['DefinitionString'] as { 'Fn::Join': [string, unknown[]] };
    const text = body['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('');
    return JSON.parse(text) as { StartAt: string; States: Record<string, { Type: string; Next?: string; End?: boolean; Retry?: { ErrorEquals: string[]; BackoffRate?: number; MaxAttempts: number }[]; Catch?: { ErrorEquals: string[]; Next: string }[] }> };
  };

  it('runs resolve period -> query -> render -> archive and deliver, in that order', () => {
    const d = definition();
    const order: string[] = [];
    // A Choice is followed along its Default (no failed export files).
    for (let s: string | undefined = d.StartAt; s; s = d.States[s]!.Next ?? (d.States[s] as { Default?: string }).Default) order.push(s);
    expect(order).toEqual(['ResolvePeriod', 'QueryMetrics', 'DataGate', 'IngestFailuresFound', 'RenderReport', 'BurstWarningsFound', 'BurstsListed', 'ArchiveAndDeliver', 'Delivered']);
  });

  it('tells ops through the same SNS topic when the query reports failed export files, then renders anyway', () => {
    const d = definition();
    const choice = d.States['IngestFailuresFound'] as unknown as { Type: string; Choices: { Next: string }[]; Default: string };
    expect(choice.Type).toBe('Choice');
    expect(choice.Choices.map((c) => c.Next)).toEqual(['NotifyIngestFailures']);
    expect(choice.Default).toBe('RenderReport');
    const warn = d.States['NotifyIngestFailures'] as unknown as { Type: string; Next: string; Parameters: { TopicArn: unknown; Subject: string } };
    expect(warn).toMatchObject({ Type: 'Task', Next: 'RenderReport', Parameters: { Subject: 'report produced with failed export files' } });
    expect(warn.Parameters.TopicArn).toEqual((d.States['NotifyOps'] as unknown as { Parameters: { TopicArn: unknown } }).Parameters.TopicArn);
  });

  it('retries each task with backoff and sends every error to ops through SNS, then fails', () => {
    const d = definition();
    for (const name of ['ResolvePeriod', 'QueryMetrics', 'RenderReport', 'ArchiveAndDeliver']) {
      const s = d.States[name]!;
      expect(s.Retry?.length, name).toBeGreaterThan(0);
      expect(s.Retry!.some((r) => r.ErrorEquals.includes('Lambda.TooManyRequestsException') && (r.BackoffRate ?? 1) > 1), name).toBe(true);
      expect(s.Catch, name).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'NotifyOps' })]);
    }
    expect(d.States['NotifyOps']).toMatchObject({ Type: 'Task', Next: 'ReportFailed' });
    expect(d.States['ReportFailed']!.Type).toBe('Fail');
    expect(JSON.stringify(d.States['NotifyOps'])).toContain('arn:TOKEN:states:::sns:publish');
  });

  it('never retries a delivery whose outcome is in doubt or a report that is incomplete', () => {
    const retried = definition().States['ArchiveAndDeliver']!.Retry!.flatMap((r) => r.ErrorEquals);
    expect(retried).toContain('DeliverySendError');
    expect(retried).not.toContain('DeliveryInDoubtError');
    expect(retried).not.toContain('ReportIncompleteError');
    expect(retried).not.toContain('States.ALL');
  });

  it('logs all events and traces with X-Ray', () => {
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
      TracingConfiguration: { Enabled: true },
    });
  });
});

describe('query engine and catalog', () => {
  it('has an Athena v3 workgroup with enforced settings, encrypted results and the configured scan cutoff', () => {
    t.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({
        EnforceWorkGroupConfiguration: true,
        BytesScannedCutoffPerQuery: 10737418240,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        ResultConfiguration: Match.objectLike({ EncryptionConfiguration: { EncryptionOption: 'SSE_S3' } }),
      }),
    });
  });

  it('takes the cutoff from context', () => {
    const other = synthStack({ bytesScannedCutoffPerQuery: 104857600 }).template;
    other.hasResourceProperties('AWS::Athena::WorkGroup', { WorkGroupConfiguration: Match.objectLike({ BytesScannedCutoffPerQuery: 104857600 }) });
  });

  it('has seven Glue tables (contacts included), all columns string, Parquet, partition projection on dt, and no crawler', () => {
    t.resourceCountIs('AWS::Glue::Table', 7);
    t.resourceCountIs('AWS::Glue::Crawler', 0);
    for (const [table, def] of Object.entries(CONTRACT)) {
      t.hasResourceProperties('AWS::Glue::Table', {
        TableInput: Match.objectLike({
          Name: table,
          PartitionKeys: [Match.objectLike({ Name: 'dt', Type: 'string' })],
          Parameters: Match.objectLike({
            'projection.enabled': 'true',
            'projection.dt.type': 'date',
            'projection.dt.format': 'yyyy-MM-dd',
            'projection.dt.range': '2015-01-01,NOW',
            'storage.location.template': Match.anyValue(),
          }),
          StorageDescriptor: Match.objectLike({
            Columns: def.columns.map((c) => Match.objectLike({ Name: c.name, Type: 'string' })),
            SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
          }),
        }),
      });
    }
  });
});

describe('buckets', () => {
  it('encrypts every bucket, blocks all public access and denies non-TLS requests', () => {
    const buckets = Object.entries(resources()).filter(([, r]) => r.Type === 'AWS::S3::Bucket');
    expect(buckets.length).toBe(4); // access logs, exports, archive, athena results
    for (const [id, b] of buckets) {
      expect(b.Properties!['BucketEncryption'], id).toBeDefined();
      expect(b.Properties!['PublicAccessBlockConfiguration'], id).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      t.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: Match.objectLike({
          Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
        }),
      });
    }
  });

  it('versions the archive and expires Athena results', () => {
    t.hasResourceProperties('AWS::S3::Bucket', { VersioningConfiguration: { Status: 'Enabled' } });
    t.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Id: 'expire-query-results', ExpirationInDays: 7, Status: 'Enabled' })]) },
    });
  });

  it('uses an existing exports bucket when one is named in context, and creates none', () => {
    const other = synthStack({ exportsBucketName: 'acme-crm-exports' }).template;
    other.resourceCountIs('AWS::S3::Bucket', 3);
    other.hasResourceProperties('Custom::S3BucketNotifications', { BucketName: 'acme-crm-exports' });
  });
});

describe('functions', () => {
  it('sets memory, timeout and a log group with retention on each, and logs JSON', () => {
    const fns = Object.values(resources()).filter((r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties!['Handler']).startsWith('functions/lambda/'));
    expect(fns.map((f) => f.Properties!['Handler']).sort()).toEqual(
      ['deliver', 'ingest', 'query', 'render', 'resolvePeriod'].map((n) => `functions/lambda/${n}.handler`),
    );
    for (const f of fns) {
      expect(f.Properties!['MemorySize']).toBeGreaterThan(0);
      expect(f.Properties!['Timeout']).toBeGreaterThan(0);
      expect(f.Properties!['LoggingConfig']).toMatchObject({ LogFormat: 'JSON', LogGroup: { Ref: expect.any(String) } });
    }
    for (const lg of Object.values(resources()).filter((r) => r.Type === 'AWS::Logs::LogGroup')) {
      expect(lg.Properties!['RetentionInDays']).toBe(90);
    }
  });

  it('triggers ingest on objects created and removed under the raw prefix', () => {
    t.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: {
        LambdaFunctionConfigurations: Match.arrayWith([
          Match.objectLike({ Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'raw/' }] } } }),
          Match.objectLike({ Events: ['s3:ObjectRemoved:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'raw/' }] } } }),
        ]),
      },
    });
  });
});

describe('alarms and ops', () => {
  it('has an encrypted ops topic and alarms on failed executions and on every function error, all notifying it', () => {
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    const topicRef = Match.objectLike({ Ref: Match.stringLikeRegexp('OpsTopic') });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ExecutionsFailed', Namespace: 'AWS/States', AlarmActions: [topicRef] });
    const errorAlarms = t.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: 'Errors', Namespace: 'AWS/Lambda', AlarmActions: [topicRef] } });
    expect(Object.keys(errorAlarms)).toHaveLength(5);
  });

  // The region/account-scoped ARN of "any alarm of this account", as CloudFormation gets it.
  const ourAlarms = {
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':alarm:*']],
  };
  const fromOurAlarms = { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } }, ArnLike: { 'aws:SourceArn': ourAlarms } };
  const opsTopicId = () => Object.keys(t.findResources('AWS::SNS::Topic'))[0]!;

  it("lets this account's CloudWatch alarms and the state machine publish to the ops topic, nobody else, and only over TLS", () => {
    t.resourceCountIs('AWS::SNS::Topic', 1);
    t.resourceCountIs('AWS::SNS::TopicPolicy', 1);
    const topic = { Ref: opsTopicId() };
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [topic],
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Principal: '*', Action: 'sns:Publish', Resource: topic, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          { Sid: 'CloudWatchAlarmsPublish', Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish', Resource: topic, Condition: fromOurAlarms },
          {
            Sid: 'StateMachinePublish',
            Effect: 'Allow',
            Principal: { AWS: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WorkflowStateMachineRole'), 'Arn'] } },
            Action: 'sns:Publish',
            Resource: topic,
          },
        ]),
      }),
    });
    // Exactly those: one Deny and two Allows, each of sns:Publish alone.
    const policy = Object.values(t.findResources('AWS::SNS::TopicPolicy'))[0]!;
    const statements = policy['Properties'].PolicyDocument.Statement as { Effect: string; Action: unknown }[];
    expect(statements.map((s) => [s.Effect, s.Action])).toEqual([
      ['Deny', 'sns:Publish'],
      ['Allow', 'sns:Publish'],
      ['Allow', 'sns:Publish'],
    ]);
    // The state machine's own role may publish (and use the key) by its identity policy too.
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^WorkflowStateMachineRole') }],
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Allow', Action: 'sns:Publish', Resource: topic }),
          Match.objectLike({ Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OpsTopicKey'), 'Arn'] } }),
        ]),
      }),
    });
  });

  it("lets this account's CloudWatch alarms use the ops topic's KMS key, which encrypts the topic", () => {
    const keyId = Object.keys(t.findResources('AWS::KMS::Key', { Properties: { Description: 'Encrypts the ops notification topic' } }))[0]!;
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    t.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Resource: '*',
            Condition: fromOurAlarms,
          }),
        ]),
      }),
    });
  });

  it('sends an ingest event that still fails after two retries to an encrypted, TLS-only queue kept 14 days, and alarms ops on it', () => {
    const queues = t.findResources('AWS::SQS::Queue', { Properties: { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 } });
    const queueId = Object.keys(queues).find((id) => id.startsWith('IngestFailures'))!;
    expect(queueId, Object.keys(queues).join()).toBeDefined();
    const queueArn = { 'Fn::GetAtt': [queueId, 'Arn'] };
    const ingestFn = Object.entries(resources()).find(([, r]) => r.Type === 'AWS::Lambda::Function' && r.Properties!['Handler'] === 'functions/lambda/ingest.handler')![0];

    t.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: ingestFn },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: queueArn } },
    });
    // Lambda delivers to the destination as the function's role: it may send there, and only there.
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^IngestRole') }],
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Allow', Action: Match.arrayWith(['sqs:SendMessage']), Resource: queueArn })]),
      }),
    });
    // The queue's own policy only refuses requests without TLS.
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sqs:*', Resource: queueArn, Condition: { Bool: { 'aws:SecureTransport': 'false' } } })],
      }),
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: opsTopicId() }],
    });
  });
});

describe('IAM', () => {
  const statements = () =>
    Object.values(resources())
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((p) => (p.Properties!['PolicyDocument'] as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement);

  it('grants no S3 or Athena action on a wildcard resource or on every object of a bucket', () => {
    const s3OrAthena = statements().filter((s) => [s.Action].flat().some((a) => /^(s3|athena):/.test(a)));
    expect(s3OrAthena.length).toBeGreaterThan(5);
    for (const s of s3OrAthena) {
      for (const r of [s.Resource].flat()) {
        const text = JSON.stringify(r);
        expect(text, JSON.stringify(s)).not.toBe('"*"');
        expect(text, JSON.stringify(s)).not.toMatch(/"\/\*"\]/); // <bucket arn>/* : a whole bucket
        expect([s.Action].flat().every((a) => !a.endsWith('*')), JSON.stringify(s.Action)).toBe(true);
      }
    }
  });

  it("lets the render function read the analysts' commentary under commentary/ of the archive, and only read it", () => {
    const render = Object.values(resources())
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties!['Roles']).includes('Render'))
      .flatMap((p) => (p.Properties!['PolicyDocument'] as { Statement: { Action: string | string[]; Resource: unknown; Condition?: unknown }[] }).Statement);
    const commentary = render.filter((s) => JSON.stringify(s.Resource).includes('/commentary/*'));
    expect(commentary.map((s) => s.Action)).toEqual(['s3:GetObject']);
    expect(JSON.stringify(commentary[0]!.Resource)).toContain('Archive');
    // Listing under the prefix: a month without commentary reads as 404 (no block), not 403.
    const list = render.filter((s) => [s.Action].flat().includes('s3:ListBucket'));
    expect(list.map((s) => s.Condition)).toEqual([{ StringLike: { 's3:prefix': ['commentary/*'] } }]);
  });

  it('names the workgroup and the Glue database and tables', () => {
    const athena = statements().find((s) => [s.Action].flat().includes('athena:StartQueryExecution'))!;
    expect(JSON.stringify(athena.Resource)).toContain(':workgroup/crm-service-report');
    const glue = statements().find((s) => [s.Action].flat().includes('glue:GetTable'))!;
    const text = JSON.stringify(glue.Resource);
    expect(text).toContain(':database/crm_service_report');
    for (const table of Object.keys(CONTRACT)) expect(text).toContain(`:table/crm_service_report/${table}`);
  });
});

describe('cdk-nag', () => {
  it('reports no unacknowledged AwsSolutions finding', () => {
    const findings = synth.nag.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
    expect(findings).toEqual([]);
    expect(synth.nag.success).toBe(true);
  });
});
