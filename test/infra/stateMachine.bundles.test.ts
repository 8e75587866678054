/**
 * The report state machine executed on the code `cdk deploy` would upload: the template is
 * synthesized with bundling (cdk synth into a temporary cdk.out; every bundle must fit Lambda's
 * 250 MB unzipped limit, sizes printed), the DefinitionString
 * CloudFormation would deploy runs in a real ASL interpreter (aws-local-stepfunctions, see
 * support/aslRunner.ts), and each Lambda Task runs the bundle of its function from cdk.out in a
 * child process (support/lambdaProcess.ts: read-only code folder, the template's Environment,
 * Handler and Timeout, a writable TMPDIR). Around them, local twins of what the functions call:
 * S3 is s3rver, Athena is answered by the local Trino (support/awsTwins.ts over
 * test/support/athenaOverTrino.ts), SES v2 is an HTTP twin that records the raw messages, and the
 * interpreter's SNS publish (a service integration of Step Functions itself) is captured.
 *
 * Faults are injected where they arise: Athena ending a query FAILED or never, SES answering
 * throttling or accepting and then the sender dying, S3 failing the archive's writes, Chromium missing, the Lambda service
 * refusing an invoke, a process killed or running past its timeout. Every failure must end in
 * exactly one ops notice (error and cause) and no mail; a success in exactly one mail with the
 * report's PDF; a re-run of a delivered period in no mail; a crash between send and record in an
 * ops notice, and its re-run in DeliveryInDoubtError, never a second mail.
 *
 * Retry waits are overridden to 0 ms and Wait states to 0 ms (the declared 2 s to 60 s intervals
 * are not waited); the retriers, counts and matching are the interpreter's on the deployed JSON.
 * The timeout case runs the query function with a 3 s timeout instead of its 15 min.
 * Without Trino, only the cases that end before the query state run. No function uses DynamoDB (the
 * delivery record is an S3 conditional put, which s3rver answers through localAws.ts).
 *
 * Measured (whole file, synth included, Trino already up): 106 s on a lightly loaded 2-core machine
 * (cdk synth 13 s, 12 executions 90 s); `npx vitest run test/infra/stateMachine.bundles.test.ts`
 * prints the figures.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadExportsIntoTrino } from '../../functions/engine/trinoLocalData.js';
import type { QueryEngine } from '../../functions/engine/engine.js';
import { csv, writeExports } from '../helpers/fixtures.js';
import { AthenaOverTrino } from '../support/athenaOverTrino.js';
import { trinoOrSkip, trinoSkipReason } from '../support/trino.js';
import { deployedStateMachine, type DeployedStateMachine, execute, type Execution, named, type TaskHandler } from './support/aslRunner.js';
import { type AthenaTwin, type SesTwin, startAthenaTwin, startSesTwin } from './support/awsTwins.js';
import { bundledStack, type BundledStack, removeBundledStack } from './support/bundledStack.js';
import { type Invocation, LocalLambdas } from './support/lambdaProcess.js';
import { type LocalS3, startS3 } from './support/localAws.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const SNS_PUBLISH = 'arn:aws:states:::sns:publish';
const trino = trinoOrSkip();
const START = { reportId: 'monthly-service-review', period: '2026-10' };
const RECIPIENTS = ['service-leads@example.com']; // config/reports.yaml, monthly-service-review

// ---------------------------------------------------------------------------------------------
// A small month of exports: every table, October 2026, each updated within the month's last week
// and the newest record an hour before its end in Moscow (so the data gate lets it through).
// ---------------------------------------------------------------------------------------------
function tickets(): string[] {
  const rows: string[] = [];
  for (let i = 0; i < 40; i++) {
    const dd = String(1 + (i % 28)).padStart(2, '0');
    rows.push(`T${i},C${i % 8},2026-10-${dd}T08:00:00Z,2026-10-${dd}T09:00:00Z,2026-10-${dd}T18:00:00Z,solved,${i % 3 ? 'email' : 'chat'},${i % 2 ? 'Alpha' : 'Beta'},A${i % 4},normal,1,0,false,2026-10-31T20:00:00Z`);
  }
  return rows;
}
const EXPORTS: Record<string, string> = {
  'tickets/dt=2026-10-31/part-0.csv': csv('ticket_id,customer_id,created_at,first_response_at,resolved_at,status,channel,team,agent_id,priority,contacts_count,reopened_count,has_error,updated_at', ...tickets()),
  'surveys/dt=2026-10-31/part-0.csv': csv(
    'response_id,survey_type,ticket_id,customer_id,channel,team,dimension,expectation,score,sent_at,responded_at,updated_at',
    'R1,csat,T1,C1,email,Alpha,,,5,2026-10-02T00:00:00Z,2026-10-02T01:00:00Z,2026-10-30',
    'R2,csat,T2,C2,email,Beta,,,4,2026-10-02T00:00:00Z,2026-10-02T02:00:00Z,2026-10-30',
    'N1,nps,,C1,email,Alpha,,,10,2026-10-02T00:00:00Z,2026-10-02T05:00:00Z,2026-10-30',
  ),
  'orders/dt=2026-10-31/part-0.csv': csv(
    'order_id,customer_id,channel,ordered_at,promised_at,delivered_at,quantity_ordered,quantity_delivered,is_accurate,change_requested,change_accommodated,returned_at,amount,updated_at',
    'O1,C1,web,2026-10-02T10:00:00Z,2026-10-05T00:00:00Z,2026-10-04T00:00:00Z,10,10,true,false,,,99.90,2026-10-30',
  ),
  'complaints/dt=2026-10-31/part-0.csv': csv('complaint_id,customer_id,order_id,ticket_id,channel,category,opened_at,resolved_at,updated_at', 'K1,C1,O1,,web,delivery,2026-10-01T00:00:00Z,2026-10-01T01:00:00Z,2026-10-30'),
  'invoices/dt=2026-10-31/part-0.csv': csv('invoice_id,order_id,customer_id,due_at,issued_at,is_accurate,amount,updated_at', 'I1,O1,C1,2026-10-10T00:00:00Z,2026-10-01T00:00:00Z,true,100.00,2026-10-30'),
  'customers/dt=2026-10-31/part-0.csv': csv('customer_id,segment,region,created_at,churned_at,updated_at', 'C1,smb,eu,2025-01-01,,2026-10-30', 'C2,ent,us,2026-10-05,,2026-10-30'),
  'contacts/dt=2026-10-31/part-0.csv': csv(
    'contact_id,customer_id,ticket_id,channel,team,agent_id,queued_at,answered_at,ended_at,updated_at',
    'Q1,C1,T1,phone,Alpha,A1,2026-10-02T08:00:00Z,2026-10-02T08:00:20Z,2026-10-02T08:05:00Z,2026-10-30',
  ),
};

// ---------------------------------------------------------------------------------------------
// The stack, its functions and the twins
// ---------------------------------------------------------------------------------------------
let stack: BundledStack;
let sm: DeployedStateMachine;
let lambdas: LocalLambdas;
let s3: LocalS3;
let ses: SesTwin;
let athena: AthenaTwin | undefined;
let backend: AthenaOverTrino | undefined;
let fixture: QueryEngine | undefined;
/** The Trino schema holding the fixture: the Athena database of the query function. */
const schema = `machine_${randomBytes(4).toString('hex')}`;
/** The Lambda function (logical id) of each pipeline step, found by its handler file. */
const FN = {} as Record<'resolvePeriod' | 'query' | 'render' | 'deliver', string>;
let ARCHIVE_BUCKET = '';
/** What the interpreter published to SNS, per execution. */
let published: Json[] = [];
const timings: { name: string; ms: number }[] = [];
const fileStarted = performance.now();

/** A bucket of the template is an s3rver bucket named after its logical id. */
const bucketName = (logicalId: string) => logicalId.toLowerCase();

/** The one top-level Task state that invokes `logicalId` (a Map may hold another, e.g. per team). */
function stateOf(logicalId: string): string {
  const topLevel = new Set(Object.keys(sm.definition.States));
  const states = Object.entries(sm.resources).filter(([s, r]) => topLevel.has(s) && r.endsWith(`:function:${logicalId}`)).map(([s]) => s);
  if (states.length !== 1) throw new Error(`expected one state invoking ${logicalId}, found ${states.join(', ') || 'none'}`);
  return states[0]!;
}

/** Every Task resolved: Lambda Tasks run their bundle, the SNS publish is captured. */
function handlers(): Record<string, TaskHandler> {
  const h: Record<string, TaskHandler> = {};
  for (const [state, resource] of Object.entries(sm.resources)) {
    const fn = /^arn:aws:lambda:[^:]+:\d+:function:(.+)$/.exec(resource)?.[1];
    if (fn) {
      h[resource] = async (input) => {
        const inv = await lambdas.invoke(fn, input);
        if (inv.ok) return inv.result!;
        // As Step Functions reports a function's error: Error is its errorType, Cause the JSON of the error.
        throw named(inv.error!.errorType, JSON.stringify(inv.error));
      };
    } else if (resource === SNS_PUBLISH) {
      h[resource] = (input) => {
        published.push(structuredClone(input));
        return { MessageId: `sns-${published.length}` };
      };
    } else throw new Error(`${state}: no local stand-in for ${resource}`);
  }
  return h;
}

interface Run extends Execution {
  invocations: Invocation[];
  notices: { TopicArn: string; Subject: string; Message: Record<string, Json> }[];
}

async function run(name: string, signal: AbortSignal, input: Json = START): Promise<Run> {
  published = [];
  const from = lambdas.invocations.length;
  const x = await execute(sm, input, handlers(), { executionName: `${name}-${randomBytes(3).toString('hex')}`, waitMs: 0, signal });
  timings.push({ name, ms: x.ms });
  return { ...x, invocations: lambdas.invocations.slice(from), notices: published as never };
}

const invocationsOf = (x: Run, fn: string) => x.invocations.filter((i) => i.logicalId === fn);
const retriesOf = (x: Run, state: string) => x.events.filter((e) => e.type === 'StateRetried' && e.state?.name === state);
/** The run's output of a failed invocation, for the assertion message. */
const why = (x: Run) => x.invocations.filter((i) => !i.ok).map((i) => `${i.logicalId}: ${i.error?.errorType} ${i.error?.errorMessage}\n${i.output.slice(-3000)}`).join('\n---\n');

/** A failed run: exactly one ops notice naming the error and carrying the cause, and no mail. */
function expectOneNotice(x: Run, fn: string, errorType: string, causeHas: string | RegExp) {
  expect(x.status, why(x)).toBe('FAILED');
  expect(x.error).toBe('ReportFailed');
  expect(x.notices).toHaveLength(1);
  const n = x.notices[0]!;
  expect(n.Subject).toBe('Customer-service report run failed');
  expect(n.Message['error']).toBe(errorType);
  const cause = JSON.parse(String(n.Message['cause'])) as { errorType: string; errorMessage: string };
  expect(cause.errorType).toBe(errorType);
  expect(cause.errorMessage).toMatch(causeHas);
  expect(n.Message['input']).toEqual(START);
  // The failed step's error was caught (once), after it the run went straight to ops.
  expect(x.events.filter((e) => e.type === 'StateCaught').map((e) => e.state?.name)).toEqual([stateOf(fn)]);
  expect(ses.messages, 'no mail on a failed run').toEqual([]);
}

/** Removes the archive (delivery records included): each case starts with the month not yet delivered. */
async function clearArchive(): Promise<void> {
  for (;;) {
    const page = await s3.client.send(new ListObjectsV2Command({ Bucket: ARCHIVE_BUCKET }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (!keys.length) return;
    await s3.client.send(new DeleteObjectsCommand({ Bucket: ARCHIVE_BUCKET, Delete: { Objects: keys } }));
  }
}

async function getObject(bucket: string, key: string): Promise<Buffer> {
  const r = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

/** Files under `dir`, as keys relative to `root`. */
function filesUnder(root: string, dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(root, p) : [relative(root, p).split(sep).join('/')];
  });
}

beforeAll(async () => {
  stack = bundledStack();
  sm = deployedStateMachine(stack.template as never);
  const byEntry = (file: string) => {
    const ids = Object.values(stack.functions).filter((f) => f.handler === `functions/lambda/${file}.handler`).map((f) => f.logicalId);
    if (ids.length !== 1) throw new Error(`expected one function with handler ${file}, found ${ids.length}`);
    return ids[0]!;
  };
  Object.assign(FN, { resolvePeriod: byEntry('resolvePeriod'), query: byEntry('query'), render: byEntry('render'), deliver: byEntry('deliver') });
  const buckets = Object.entries(stack.template.Resources).filter(([, r]) => r.Type === 'AWS::S3::Bucket').map(([id]) => bucketName(id));
  s3 = await startS3(buckets);
  ses = await startSesTwin();
  if (trino) {
    backend = new AthenaOverTrino({ url: trino.url, catalog: trino.catalog, schemaFor: () => schema });
    athena = await startAthenaTwin(backend);
  }
  lambdas = new LocalLambdas({
    stack,
    resolveRef: (id, type) => {
      if (type === 'AWS::S3::Bucket') return bucketName(id);
      throw new Error(`Ref to ${type} ${id} has no local stand-in`);
    },
    endpoints: {
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ENDPOINT_URL_SESV2: ses.endpoint,
      // Without Trino nothing answers: only cases that end before the query run then.
      AWS_ENDPOINT_URL_ATHENA: athena?.endpoint ?? 'http://127.0.0.1:9',
    },
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  ARCHIVE_BUCKET = lambdas.environment(lambdas.fn(FN.deliver))['ARCHIVE_BUCKET']!;
  if (trino) {
    // The curated Parquet, as the ingest function files it, both where "Athena" reads it (a Trino
    // schema over the warehouse folder) and where the query function lists it (the exports bucket).
    const dataDir = writeExports(EXPORTS);
    fixture = await loadExportsIntoTrino({ trino, dataDir, schema });
    const env = lambdas.environment(lambdas.fn(FN.query));
    const root = join(trino.warehouseDir, schema);
    for (const key of filesUnder(root, root).filter((k) => !k.split('/').some((p) => p.startsWith('.')))) {
      await s3.client.send(new PutObjectCommand({ Bucket: env['CURATED_BUCKET'], Key: `${env['CURATED_PREFIX']}/${key}`, Body: readFileSync(join(root, key)) }));
    }
    // An export of August that the ingest could not import: it holds no record of October, so
    // October's report must neither list it nor warn ops about it.
    await s3.client.send(
      new PutObjectCommand({
        Bucket: env['CURATED_BUCKET'],
        Key: `${env['CURATED_PREFIX']}/tickets/_failed/2026-08-31/broken.csv.json`,
        Body: JSON.stringify({ key: 'raw/tickets/dt=2026-08-31/broken.csv', error: 'not gzip', at: '2026-09-01T02:00:00.000Z' }),
      }),
    );
  }
}, 240_000);

beforeEach(async () => {
  // What an execution abandoned by a timed-out test still runs would disturb the next one.
  lambdas?.killAll();
  lambdas?.clearFaults();
  ses?.reset();
  if (athena) athena.fault = null;
  if (s3) {
    s3.fault = null;
    await clearArchive();
  }
});

afterAll(async () => {
  lambdas?.close();
  await Promise.all([s3?.stop(), ses?.stop(), athena?.stop(), backend?.close(), fixture?.close()]);
  removeBundledStack();
  const total = (performance.now() - fileStarted) / 1000;
  process.stdout.write(
    `stateMachine.bundles: cdk synth ${stack?.synthSeconds.toFixed(1)} s; ${timings.length} executions ` +
      `(${timings.map((t) => `${t.name} ${(t.ms / 1000).toFixed(1)} s`).join(', ')}); whole file ${total.toFixed(1)} s\n`,
  );
});

// ---------------------------------------------------------------------------------------------

/** Lambda's quota for a function's unzipped deployment package (code plus layers). */
const LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024;

function folderBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? folderBytes(p) : e.isFile() ? statSync(p).size : 0;
  }
  return total;
}

describe('the deployed definition on the bundles of cdk.out', () => {
  it("holds every function bundle within Lambda's 250 MB unzipped limit (sizes printed)", () => {
    // The same synth as `npm run synth`, bundles included (DuckDB and Chromium copied in).
    const sizes = Object.values(stack.functions).map((f) => ({ id: f.logicalId, layers: stack.template.Resources[f.logicalId]!.Properties!['Layers'], mb: folderBytes(f.assetDir) / 1024 / 1024 }));
    process.stdout.write(`function bundles (unzipped): ${sizes.map((s) => `${s.id.replace(/[0-9A-F]{8}$/, '')} ${s.mb.toFixed(1)} MB`).join(', ')}\n`);
    // The five functions of the stack (the bucket-notification helper of CDK is inline code).
    expect(sizes.map((s) => s.id.replace(/Function[0-9A-F]{8}$/, '')).sort()).toEqual(['Deliver', 'Ingest', 'Query', 'Render', 'ResolvePeriod']);
    for (const s of sizes) {
      expect(s.layers, `${s.id} has no layers`).toBeUndefined();
      expect(s.mb * 1024 * 1024, `${s.id}: ${s.mb.toFixed(1)} MB`).toBeLessThan(LAMBDA_UNZIPPED_LIMIT);
      expect(s.mb, `${s.id} holds a real bundle`).toBeGreaterThan(1);
    }
  });

  it('maps every Task to a bundled function (handler file in its read-only asset) or to the SNS publish', () => {
    const lambdaTasks = Object.entries(sm.resources).filter(([, r]) => r !== SNS_PUBLISH);
    expect([...new Set(lambdaTasks.map(([, r]) => r.split(':').pop()))].sort()).toEqual([FN.resolvePeriod, FN.query, FN.render, FN.deliver].sort());
    for (const [state, resource] of lambdaTasks) {
      const f = lambdas.fn(resource.split(':').pop()!);
      const file = join(f.assetDir, `${f.handler.slice(0, f.handler.lastIndexOf('.'))}.mjs`);
      expect(statSync(file).size, `${state}: ${file}`).toBeGreaterThan(100_000);
      // No write permission anywhere on the code (a-w), as on Lambda.
      expect(statSync(file).mode & 0o222, state).toBe(0);
      expect(statSync(f.assetDir).mode & 0o222, state).toBe(0);
    }
  });

  it('runs the first state with its template environment: an unknown report is InvalidEventError, not retried, one notice, no mail', async ({ signal }) => {
    const x = await run('unknown-report', signal, { reportId: 'no-such-report', period: '2026-10' });

    expect(invocationsOf(x, FN.resolvePeriod)).toHaveLength(1);
    expect(retriesOf(x, stateOf(FN.resolvePeriod))).toEqual([]);
    expect(x.status).toBe('FAILED');
    expect(x.notices).toHaveLength(1);
    const cause = JSON.parse(String(x.notices[0]!.Message['cause'])) as { errorMessage: string };
    expect(x.notices[0]!.Message['error']).toBe('InvalidEventError');
    // The deployed reports, read from the bundle's config/ (CONFIG_DIR=/var/task/config).
    expect(cause.errorMessage).toBe('unknown report "no-such-report"; deployed reports: monthly-service-review, monthly-service-review-zh, monthly-service-review-ru');
    expect(x.invocations.map((i) => i.logicalId)).toEqual([FN.resolvePeriod]);
    expect(ses.requests).toBe(0);
  });

  it('retries a throttled invoke (Lambda.TooManyRequestsException) 4 times as declared, then one notice', async ({ signal }) => {
    lambdas.inject(FN.resolvePeriod, () => ({ service: 'Lambda.TooManyRequestsException', message: 'Rate Exceeded.' }));
    const x = await run('throttled', signal, { reportId: 'no-such-report', period: '2026-10' });

    expect(invocationsOf(x, FN.resolvePeriod)).toHaveLength(5);
    const retried = retriesOf(x, stateOf(FN.resolvePeriod));
    expect(retried.map((e) => e.retry!.attempt)).toEqual([1, 2, 3, 4]);
    for (const e of retried) expect(e.retry!.retrier.ErrorEquals).toContain('Lambda.TooManyRequestsException');
    expect(x.notices).toHaveLength(1);
    expect(x.notices[0]!.Message['error']).toBe('Lambda.TooManyRequestsException');
    expect(ses.requests).toBe(0);
  });
});

describe.skipIf(!trino)(`a month end to end on the bundles${trino ? '' : ` (no Trino: ${trinoSkipReason()})`}`, () => {
  it('succeeds with exactly one mail to the recipients, the archived PDF attached, and no ops notice; a re-run sends nothing', async ({ signal }) => {
    const x = await run('month', signal);

    expect(x.status, why(x)).toBe('SUCCEEDED');
    expect(x.notices).toEqual([]);
    expect(x.invocations.map((i) => i.logicalId)).toEqual([FN.resolvePeriod, FN.query, FN.render, FN.deliver]);
    // August's failed export is not October's: not counted, not listed.
    expect(invocationsOf(x, FN.query)[0]!.result).toMatchObject({ ingestFailures: 0 });
    expect(x.events.filter((e) => e.type === 'StateRetried')).toEqual([]);
    const out = x.output as { delivery: string; pdfKey: string; messageId: string };
    expect(out.delivery).toBe('sent');
    expect(ses.messages).toHaveLength(1);
    const sent = ses.messages[0]!;
    expect(sent.to).toEqual(RECIPIENTS);
    const mail = await simpleParser(sent.raw);
    // The delivery names the message it sent (its Message-ID).
    expect(out.messageId).toBe(mail.messageId);
    expect(mail.subject).toContain('Monthly customer service review');
    const pdfs = mail.attachments.filter((a) => a.contentType === 'application/pdf');
    expect(pdfs).toHaveLength(1);
    expect(pdfs[0]!.filename).toContain('2026-10');
    // The attachment is the report archived for this month, byte for byte, and a PDF.
    expect(out.pdfKey).toMatch(/^reports\/monthly-service-review\/2026-10\//);
    const archived = await getObject(ARCHIVE_BUCKET, out.pdfKey);
    expect(archived.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(Buffer.compare(pdfs[0]!.content, archived)).toBe(0);

    const again = await run('month-rerun', signal);

    expect(again.status, why(again)).toBe('SUCCEEDED');
    expect((again.output as { delivery: string }).delivery).toBe('already_sent');
    expect(ses.requests).toBe(1);
    expect(ses.messages).toHaveLength(1);
    expect(again.notices).toEqual([]);
  }, 180_000);

  it('query: Athena ending FAILED (EngineError) is retried once as declared, then one notice; nothing rendered or sent', async ({ signal }) => {
    athena!.fault = 'fail';
    const x = await run('athena-failed', signal);

    expect(invocationsOf(x, FN.query)).toHaveLength(2);
    expect(retriesOf(x, stateOf(FN.query)).map((e) => e.retry!.retrier.ErrorEquals)).toEqual([['EngineError']]);
    expectOneNotice(x, FN.query, 'EngineError', /GENERIC_INTERNAL_ERROR: injected by the test/);
    expect(invocationsOf(x, FN.render)).toEqual([]);
    expect(invocationsOf(x, FN.deliver)).toEqual([]);
  }, 120_000);

  it('query: a run past the timeout (Sandbox.Timedout) is killed, retried once, then one notice', async ({ signal }) => {
    athena!.fault = 'hang';
    lambdas.inject(FN.query, () => ({ timeoutSeconds: 3 }));
    const x = await run('query-timeout', signal);

    const q = invocationsOf(x, FN.query);
    expect(q.map((i) => i.error?.errorType)).toEqual(['Sandbox.Timedout', 'Sandbox.Timedout']);
    for (const i of q) expect(i.ms).toBeGreaterThanOrEqual(3000);
    expect(retriesOf(x, stateOf(FN.query))).toHaveLength(1);
    expectOneNotice(x, FN.query, 'Sandbox.Timedout', /Task timed out after 3\.00 seconds/);
  }, 120_000);

  it('render: Chromium that cannot start (BrowserLaunchError) is retried twice as declared, then one notice', async ({ signal }) => {
    lambdas.inject(FN.render, () => ({ env: { CHROMIUM_EXECUTABLE_PATH: '/nonexistent/chromium' } }));
    const x = await run('no-browser', signal);

    expect(invocationsOf(x, FN.render).map((i) => i.error?.errorType)).toEqual(['BrowserLaunchError', 'BrowserLaunchError', 'BrowserLaunchError']);
    expect(retriesOf(x, stateOf(FN.render))).toHaveLength(2);
    expectOneNotice(x, FN.render, 'BrowserLaunchError', /nonexistent/);
    expect(invocationsOf(x, FN.deliver)).toEqual([]);
  }, 120_000);

  it('query: a crash (the process killed) is Runtime.ExitError: not retried, one notice, nothing rendered or sent', async ({ signal }) => {
    // Athena never answers, so the function is surely still at work when it is killed.
    athena!.fault = 'hang';
    lambdas.inject(FN.query, () => ({ killAfterMs: 1500 }));
    const x = await run('query-crash', signal);

    expect(invocationsOf(x, FN.query)).toHaveLength(1);
    expect(retriesOf(x, stateOf(FN.query))).toEqual([]);
    expectOneNotice(x, FN.query, 'Runtime.ExitError', /Runtime exited with error: signal: killed/);
    expect(invocationsOf(x, FN.render)).toEqual([]);
  }, 120_000);

  it('deliver: SES throttling (DeliverySendError, nothing sent) is retried 3 times as declared, then one notice and no mail', async ({ signal }) => {
    ses.fault = () => 'throttle';
    const x = await run('ses-throttled', signal);

    expect(invocationsOf(x, FN.deliver).map((i) => i.error?.errorType)).toEqual(Array(4).fill('DeliverySendError'));
    expect(retriesOf(x, stateOf(FN.deliver)).map((e) => e.retry!.retrier.ErrorEquals)).toEqual(Array(3).fill(expect.arrayContaining(['DeliverySendError'])));
    expect(ses.requests).toBe(4);
    expectOneNotice(x, FN.deliver, 'DeliverySendError', /TooManyRequestsException/);
  }, 120_000);

  it('deliver: an archive that cannot be written (ArchiveError) is retried 3 times as declared, then one notice and no mail', async ({ signal }) => {
    // S3 fails every write under reports/ (the delivery record first: nothing is claimed or sent).
    s3.fault = (method, bucket, key) => (method === 'PUT' && bucket === ARCHIVE_BUCKET && key.startsWith('reports/') ? 'InternalError' : undefined);
    const x = await run('archive-failed', signal);

    expect(invocationsOf(x, FN.deliver).map((i) => i.error?.errorType)).toEqual(Array(4).fill('ArchiveError'));
    expect(retriesOf(x, stateOf(FN.deliver))).toHaveLength(3);
    expect(ses.requests).toBe(0);
    expectOneNotice(x, FN.deliver, 'ArchiveError', /InternalError/);
  }, 120_000);

  it('deliver: killed after SES accepted the message ends in one notice; the re-run is in doubt and sends no second mail', async ({ signal }) => {
    ses.onAccepted = () => void lambdas.kill(FN.deliver);
    const x = await run('crash-after-send', signal);

    expect(x.status, why(x)).toBe('FAILED');
    expect(ses.messages).toHaveLength(1);
    expect(invocationsOf(x, FN.deliver)).toHaveLength(1);
    expect(x.notices).toHaveLength(1);
    expect(x.notices[0]!.Message['error']).toBe('Runtime.ExitError');
    // The notice must not tell ops that nothing was sent.
    expect(x.notices[0]!.Message['note']).toContain('Runtime.ExitError or Sandbox.Timedout of the deliver step');
    ses.onAccepted = null;

    const again = await run('after-crash-rerun', signal);

    expect(again.status, why(again)).toBe('FAILED');
    expect(again.notices).toHaveLength(1);
    expect(again.notices[0]!.Message['error']).toBe('DeliveryInDoubtError');
    expect(JSON.parse(String(again.notices[0]!.Message['cause'])).errorMessage).toMatch(/never confirmed/);
    expect(invocationsOf(again, FN.deliver)).toHaveLength(1);
    expect(ses.requests).toBe(1);
    expect(ses.messages).toHaveLength(1);
  }, 180_000);
});
