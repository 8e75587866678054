/**
 * The report state machine executed, not just synthesized: the DefinitionString CloudFormation
 * would deploy runs in a real ASL interpreter (aws-local-stepfunctions) with stand-ins for the
 * Lambda functions and the SNS publish, and faults injected state by state. It proves the
 * machine's own control flow: what is retried and how often, what goes straight to the catch,
 * that every failure ends in exactly one ops notice carrying error and cause and sends no mail,
 * and that the success path runs each task once, in order. One test runs the real resolvePeriod
 * handler (the module the bundle is built from) inside the interpreter.
 *
 * Retry waits are overridden to 0 ms (the declared 2 s to 60 s intervals are not waited); the
 * retriers, their order, counts and error matching are the interpreter's, on the deployed JSON.
 * Stand-in errors carry Step Functions' error name as `name`; the cause is the message (in AWS a
 * Lambda error's Cause is a JSON string {errorType, errorMessage, trace}).
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthStack, ROOT } from './support/synth.js';
import { deployedStateMachine, type DeployedStateMachine, execute, type Execution, named, placeholderArn, type TaskHandler } from './support/aslRunner.js';

const SNS_PUBLISH = 'arn:aws:states:::sns:publish';
const TASKS = ['ResolvePeriod', 'QueryMetrics', 'RenderReport', 'ArchiveAndDeliver'] as const;
type TaskName = (typeof TASKS)[number];
/** Which function each state must invoke: the construct id its synthesized logical id starts with. */
const CONSTRUCT_OF: Record<TaskName, string> = {
  ResolvePeriod: 'ResolvePeriodFunction',
  QueryMetrics: 'QueryFunction',
  RenderReport: 'RenderFunction',
  ArchiveAndDeliver: 'DeliverFunction',
};
/** Filled from the template (logical ids carry a hash of the construct path, not pinned here). */
const FUNCTION_OF = {} as Record<TaskName, string>;
let OPS_TOPIC = '';

/** The one resource of `type` whose logical id is the construct id plus CDK's hash suffix. */
function logicalId(resources: Record<string, { Type: string }>, type: string, constructId: string): string {
  const ids = Object.keys(resources).filter((id) => resources[id]!.Type === type && new RegExp(`^${constructId}[0-9A-F]{8}$`).test(id));
  if (ids.length !== 1) throw new Error(`expected one ${type} ${constructId}<hash>, found ${ids.join(', ') || 'none'}`);
  return ids[0]!;
}

// The intended policy, written out (not read from the definition): error -> retries after the first try.
const LAMBDA_TRANSIENT = { 'Lambda.TooManyRequestsException': 4, 'Lambda.ServiceException': 4, 'Lambda.AWSLambdaException': 4, 'Lambda.SdkClientException': 4 };
const RETRIED: Record<TaskName, Record<string, number>> = {
  ResolvePeriod: { ...LAMBDA_TRANSIENT },
  QueryMetrics: { ...LAMBDA_TRANSIENT, EngineError: 1, 'Sandbox.Timedout': 1 },
  RenderReport: { ...LAMBDA_TRANSIENT, RenderTimeoutError: 2, BrowserLaunchError: 2, 'Sandbox.Timedout': 2 },
  ArchiveAndDeliver: { ...LAMBDA_TRANSIENT, DeliverySendError: 3, ArchiveError: 3 },
};
/** Errors the functions raise (or the runtime surfaces) that no retry can cure: straight to ops. */
const NOT_RETRIED: Record<TaskName, string[]> = {
  ResolvePeriod: ['InvalidEventError', 'PeriodError', 'ConfigError', 'Sandbox.Timedout', 'TypeError'],
  QueryMetrics: ['ConfigError', 'MissingEnvError', 'InvalidEventError', 'MetricsJsonError', 'TypeError'],
  RenderReport: ['TemplateError', 'MetricsJsonError', 'MessageError', 'TypeError'],
  ArchiveAndDeliver: ['DeliveryInDoubtError', 'PartialDeliveryError', 'ReportIncompleteError', 'MissingEnvError', 'TypeError'],
};

const START = { reportId: 'monthly-service-review', scheduledTime: '2026-11-01T04:00:00Z' };

/** Stand-ins that succeed, each adding its part to the state (the shapes the real steps pass on). */
function standIns(): Record<string, TaskHandler> {
  const fn = (t: TaskName) => placeholderArn('AWS::Lambda::Function', FUNCTION_OF[t]);
  return {
    [fn('ResolvePeriod')]: (input) => {
      const { start, runId } = input as { start: { reportId: string }; runId: string };
      return { reportId: start.reportId, period: '2026-10', timezone: 'Europe/Moscow', force: false, runId };
    },
    [fn('QueryMetrics')]: (input) => ({ ...(input as object), metricsKey: 'work/test-run/metrics.json' }),
    [fn('RenderReport')]: (input) => ({ ...(input as object), pdfKey: 'work/test-run/report.pdf' }),
    [fn('ArchiveAndDeliver')]: (input) => ({ ...(input as object), delivered: true }),
    [SNS_PUBLISH]: () => ({ MessageId: 'm-1' }),
  };
}

interface Fault {
  state: TaskName | 'NotifyOps';
  error: string;
  /** Throws on the first `times` calls of the state in the run (default: always). */
  times?: number;
  message?: string;
}

/** The stand-ins, with each fault injected into its state. */
function failing(...faults: Fault[]): Record<string, TaskHandler> {
  const h = standIns();
  for (const { state, error, times = Infinity, message } of faults) {
    const resource = state === 'NotifyOps' ? SNS_PUBLISH : placeholderArn('AWS::Lambda::Function', FUNCTION_OF[state]);
    const ok = h[resource]!;
    h[resource] = (input, call) => {
      if (call.attempt <= times) throw named(error, message);
      return ok(input, call);
    };
  }
  return h;
}

/**
 * The states a run enters up to and including `state` when the data gate lets the data through,
 * the query reports no failed export file, and the report has no team or channel bursts.
 */
const enteredUpTo = (state: TaskName) => {
  const path = ['ResolvePeriod', 'QueryMetrics', 'DataGate', 'IngestFailuresFound', 'RenderReport', 'BurstWarningsFound', 'BurstsListed', 'ArchiveAndDeliver'];
  return path.slice(0, path.indexOf(state) + 1);
};

const callsOf = (x: Execution, state: string) => x.calls.filter((c) => c.state === state);
const eventsOf = (x: Execution, type: string, state?: string) => x.events.filter((e) => e.type === type && (!state || e.state?.name === state));
const published = (x: Execution) => callsOf(x, 'NotifyOps').filter((c) => !c.error);

let sm: DeployedStateMachine;

beforeAll(() => {
  const template = synthStack().template.toJSON() as { Resources: Record<string, { Type: string }> };
  for (const t of TASKS) FUNCTION_OF[t] = logicalId(template.Resources, 'AWS::Lambda::Function', CONSTRUCT_OF[t]);
  OPS_TOPIC = placeholderArn('AWS::SNS::Topic', logicalId(template.Resources, 'AWS::SNS::Topic', 'OpsTopic'));
  sm = deployedStateMachine(template as never);
});

describe('the deployed definition, as the interpreter sees it', () => {
  it('resolves every Task to the function or service it invokes in the deployed stack', () => {
    const expected = Object.fromEntries(TASKS.map((t) => [t, placeholderArn('AWS::Lambda::Function', FUNCTION_OF[t])]));
    expect(sm.resources).toMatchObject({ ...expected, NotifyOps: SNS_PUBLISH, NotifyIngestFailures: SNS_PUBLISH });
    // Every other Task invokes one of these functions or publishes to ops (e.g. the per-team states of a Map).
    const known = new Set([...Object.values(expected), SNS_PUBLISH]);
    for (const [name, r] of Object.entries(sm.resources)) expect(known.has(r), `${name}: ${r}`).toBe(true);
    for (const name of Object.keys(sm.resources).filter((n) => sm.resources[n] === SNS_PUBLISH && n in sm.definition.States)) {
      const publish = sm.definition.States[name] as unknown as { Parameters: { TopicArn: string } };
      expect(publish.Parameters.TopicArn, name).toBe(OPS_TOPIC);
    }
  });

  it('declares exactly the retries exercised below (each error, with its MaxAttempts)', () => {
    // So every declared retry is executed here, and a retry added or dropped by hand is seen.
    for (const t of TASKS) {
      const retry = (sm.definition.States[t] as { Retry?: { ErrorEquals: string[]; MaxAttempts?: number }[] }).Retry ?? [];
      const declared: Record<string, number> = {};
      for (const r of retry) for (const e of r.ErrorEquals) declared[e] ??= r.MaxAttempts ?? 3;
      expect(declared, t).toEqual(RETRIED[t]);
    }
  });
});

describe('success path', () => {
  it('calls each task once, in order, passing each result on, and ends in success without an ops notice', async () => {
    const x = await execute(sm, START, standIns(), { executionName: 'run-ok' });

    expect(x.status).toBe('SUCCEEDED');
    expect(x.calls.map((c) => c.state)).toEqual([...TASKS]);
    expect(x.calls.map((c) => c.resource)).toEqual(TASKS.map((t) => placeholderArn('AWS::Lambda::Function', FUNCTION_OF[t])));
    expect(eventsOf(x, 'StateEntered').map((e) => e.state!.name)).toEqual([...enteredUpTo('ArchiveAndDeliver'), 'Delivered']);
    expect(x.calls[0]!.input).toEqual({ start: START, runId: 'run-ok' });
    const resolved = { reportId: 'monthly-service-review', period: '2026-10', timezone: 'Europe/Moscow', force: false, runId: 'run-ok' };
    expect(x.calls[1]!.input).toEqual(resolved);
    expect(x.calls[3]!.input).toEqual({ ...resolved, metricsKey: 'work/test-run/metrics.json', pdfKey: 'work/test-run/report.pdf' });
    expect(x.output).toMatchObject({ ...resolved, delivered: true });
    expect(eventsOf(x, 'StateRetried')).toEqual([]);
    expect(callsOf(x, 'NotifyOps')).toEqual([]);
    expect(x.calls.filter((c) => c.resource === SNS_PUBLISH)).toEqual([]);
  });
});

describe('a report produced with failed export files', () => {
  /** The stand-ins, with the query reporting `ingestFailures`. */
  const withFailures = (ingestFailures: number | undefined) => {
    const h = standIns();
    const query = placeholderArn('AWS::Lambda::Function', FUNCTION_OF.QueryMetrics);
    const ok = h[query]!;
    h[query] = async (input, call) => ({ ...((await ok(input, call)) as Record<string, never>), ...(ingestFailures === undefined ? {} : { ingestFailures }) });
    return h;
  };
  const publishes = (x: Execution) => x.calls.filter((c) => c.resource === SNS_PUBLISH && !c.error);

  it('publishes exactly one warning to ops (report, period, count) and still renders and delivers', async () => {
    const x = await execute(sm, START, withFailures(2), { executionName: 'run-warn' });

    expect(x.status).toBe('SUCCEEDED');
    expect(publishes(x)).toHaveLength(1);
    expect(callsOf(x, 'NotifyIngestFailures')).toHaveLength(1);
    expect(callsOf(x, 'NotifyOps')).toEqual([]);
    expect(publishes(x)[0]!.input).toMatchObject({
      TopicArn: OPS_TOPIC,
      Subject: 'report produced with failed export files',
      Message: { reportId: 'monthly-service-review', period: '2026-10', ingestFailures: 2, execution: 'run-warn' },
    });
    expect(x.calls.filter((c) => c.resource !== SNS_PUBLISH).map((c) => c.state)).toEqual([...TASKS]);
    expect(eventsOf(x, 'StateEntered').map((e) => e.state!.name)).toEqual(['ResolvePeriod', 'QueryMetrics', 'DataGate', 'IngestFailuresFound', 'NotifyIngestFailures', 'RenderReport', 'BurstWarningsFound', 'BurstsListed', 'ArchiveAndDeliver', 'Delivered']);
    // The publish result is discarded: render gets the query's output unchanged.
    expect(callsOf(x, 'RenderReport')[0]!.input).toMatchObject({ metricsKey: 'work/test-run/metrics.json', ingestFailures: 2 });
    expect(callsOf(x, 'RenderReport')[0]!.input).not.toHaveProperty('MessageId');
    expect(x.output).toMatchObject({ delivered: true });
  });

  it.each([0, undefined])('publishes nothing when ingestFailures is %s', async (ingestFailures) => {
    const x = await execute(sm, START, withFailures(ingestFailures), { executionName: 'run-clean' });

    expect(x.status).toBe('SUCCEEDED');
    expect(publishes(x)).toEqual([]);
    expect(x.calls.map((c) => c.state)).toEqual([...TASKS]);
  });

  it('still delivers when the warning cannot be published (retried, then passed over)', async () => {
    const h = withFailures(1);
    h[SNS_PUBLISH] = () => {
      throw named('SNS.KMSAccessDeniedException');
    };
    const x = await execute(sm, START, h, { executionName: 'run-warn' });

    expect(x.status).toBe('SUCCEEDED');
    expect(callsOf(x, 'NotifyIngestFailures')).toHaveLength(4);
    expect(callsOf(x, 'NotifyOps')).toEqual([]);
    expect(callsOf(x, 'ArchiveAndDeliver')).toHaveLength(1);
    expect(callsOf(x, 'RenderReport')[0]!.input).toMatchObject({ metricsKey: 'work/test-run/metrics.json', ingestFailures: 1 });
  });
});

/** What every failure of `state` with `error` must end in. */
function expectOneOpsNotice(x: Execution, state: TaskName, error: string, message: string) {
  expect(x.status).toBe('FAILED');
  expect(x.error).toBe('ReportFailed');
  expect(eventsOf(x, 'StateCaught', state)).toHaveLength(1);
  const notices = published(x);
  expect(notices).toHaveLength(1);
  expect(notices[0]!.input).toMatchObject({
    TopicArn: OPS_TOPIC,
    Subject: 'Customer-service report run failed',
    Message: { error, cause: message, execution: 'run-fail', input: START },
  });
  expect((notices[0]!.input as { Message: { executionArn: string } }).Message.executionArn).toContain(`:execution:${sm.logicalId}:run-fail`);
  // Nothing after the failed state ran: in particular no delivery after a failure upstream.
  const after = TASKS.slice(TASKS.indexOf(state) + 1);
  for (const t of after) expect(callsOf(x, t), `${t} after ${state} failed`).toEqual([]);
  expect(eventsOf(x, 'StateEntered').map((e) => e.state!.name)).toEqual([...enteredUpTo(state), 'NotifyOps', 'ReportFailed']);
}

const retriedCases = TASKS.flatMap((t) => Object.entries(RETRIED[t]).map(([error, max]) => ({ state: t, error, max })));
const notRetriedCases = TASKS.flatMap((t) => NOT_RETRIED[t].map((error) => ({ state: t, error })));

describe('errors a retry can cure', () => {
  it.each(retriedCases)('$state: $error that persists is tried 1 + $max times, then one ops notice', async ({ state, error, max }) => {
    const message = `${error}: still failing`;
    const x = await execute(sm, START, failing({ state, error, message }), { executionName: 'run-fail' });

    expect(callsOf(x, state).map((c) => c.attempt)).toEqual(Array.from({ length: max + 1 }, (_, i) => i + 1));
    const retried = eventsOf(x, 'StateRetried', state);
    expect(retried).toHaveLength(max);
    for (const e of retried) expect(e.retry!.retrier.ErrorEquals).toContain(error);
    expectOneOpsNotice(x, state, error, message);
    // The declared waits (2 s to 60 s, with backoff) were overridden, not waited.
    expect(x.ms).toBeLessThan(1000);
  });

  it.each(retriedCases)('$state: $error that clears on the last retry ($max) ends in success, each later task once', async ({ state, error, max }) => {
    const x = await execute(sm, START, failing({ state, error, times: max }), { executionName: 'run-recovers' });

    expect(x.status).toBe('SUCCEEDED');
    expect(callsOf(x, state)).toHaveLength(max + 1);
    for (const t of TASKS.filter((t) => t !== state)) expect(callsOf(x, t), t).toHaveLength(1);
    expect(callsOf(x, 'NotifyOps')).toEqual([]);
  });

  it('waits between tries as the interpreter is told (the wait is real, only shortened)', async () => {
    const x = await execute(sm, START, failing({ state: 'ArchiveAndDeliver', error: 'DeliverySendError', times: 2 }), { retryWaitMs: 60 });

    expect(x.status).toBe('SUCCEEDED');
    const tries = eventsOf(x, 'StateFailed', 'ArchiveAndDeliver').map((e) => e.timestamp);
    const retries = eventsOf(x, 'StateRetried', 'ArchiveAndDeliver').map((e) => e.timestamp);
    expect(retries).toHaveLength(2);
    retries.forEach((r, i) => expect(r - tries[i]!).toBeGreaterThanOrEqual(55));
  });
});

describe('errors no retry can cure', () => {
  it.each(notRetriedCases)('$state: $error goes straight to the catch and one ops notice', async ({ state, error }) => {
    const message = `${error}: injected`;
    const x = await execute(sm, START, failing({ state, error, message }), { executionName: 'run-fail' });

    expect(callsOf(x, state)).toHaveLength(1);
    expect(eventsOf(x, 'StateRetried')).toEqual([]);
    expectOneOpsNotice(x, state, error, message);
  });

  it.each(['DeliveryInDoubtError', 'PartialDeliveryError'])('a %s from deliver is never sent again: one deliver call, one notice naming it', async (error) => {
    const message = 'refused: cfo@example.com (550 mailbox unavailable)';
    const x = await execute(sm, START, failing({ state: 'ArchiveAndDeliver', error, message }), { executionName: 'run-fail' });

    expect(callsOf(x, 'ArchiveAndDeliver')).toHaveLength(1);
    expectOneOpsNotice(x, 'ArchiveAndDeliver', error, message);
    const note = (published(x)[0]!.input as { Message: { note: string } }).Message.note;
    expect(note).toContain(error);
  });
});

describe('the ops notice itself', () => {
  it('is retried when SNS fails, and still published once', async () => {
    const x = await execute(sm, START, failing({ state: 'QueryMetrics', error: 'ConfigError' }, { state: 'NotifyOps', error: 'SNS.InternalErrorException', times: 2 }), { executionName: 'run-fail' });

    expect(callsOf(x, 'NotifyOps').map((c) => c.error?.name ?? 'ok')).toEqual(['SNS.InternalErrorException', 'SNS.InternalErrorException', 'ok']);
    expectOneOpsNotice(x, 'QueryMetrics', 'ConfigError', 'ConfigError injected by the test');
  });

  it('that cannot be published after 1 + 3 tries still fails the execution (the failed-executions alarm is left)', async () => {
    const x = await execute(sm, START, failing({ state: 'RenderReport', error: 'TemplateError' }, { state: 'NotifyOps', error: 'SNS.KMSAccessDeniedException' }));

    expect(callsOf(x, 'NotifyOps')).toHaveLength(4);
    expect(x.status).toBe('FAILED');
    expect(x.error).toBe('SNS.KMSAccessDeniedException');
    expect(callsOf(x, 'ArchiveAndDeliver')).toEqual([]);
  });
});

describe('a real task inside the interpreter: the resolvePeriod handler', () => {
  let real: TaskHandler;

  beforeAll(async () => {
    // The Lambda entry reads CONFIG_DIR at import (the bundle ships config/ at /var/task/config).
    const saved = { CONFIG_DIR: process.env['CONFIG_DIR'], LOG_LEVEL: process.env['LOG_LEVEL'] };
    process.env['CONFIG_DIR'] = join(ROOT, 'config');
    process.env['LOG_LEVEL'] = 'SILENT';
    try {
      const mod = await import('../../functions/handlers/lambda/resolvePeriod.js');
      real = (input) => mod.handler(input) as never;
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  const withReal = () => ({ ...standIns(), [placeholderArn('AWS::Lambda::Function', FUNCTION_OF.ResolvePeriod)]: real });

  it("resolves the month that closed in the report's time zone and the run goes on to delivery", async () => {
    // 00:30 on 1 November in Shanghai is still 31 October in UTC: the report is for October.
    const start = { reportId: 'monthly-service-review-zh', scheduledTime: '2026-10-31T16:30:00Z' };
    const x = await execute(sm, start, withReal(), { executionName: 'run-zh' });

    expect(x.status).toBe('SUCCEEDED');
    expect(callsOf(x, 'QueryMetrics')[0]!.input).toEqual({ reportId: 'monthly-service-review-zh', period: '2026-10', timezone: 'Asia/Shanghai', force: false, runId: 'run-zh' });
    expect(x.calls.map((c) => c.state)).toEqual([...TASKS]);
  });

  it('rejects an unknown report with InvalidEventError: not retried, one ops notice, nothing queried', async () => {
    const x = await execute(sm, { reportId: 'no-such-report', scheduledTime: START.scheduledTime }, withReal(), { executionName: 'run-fail' });

    expect(callsOf(x, 'ResolvePeriod')).toHaveLength(1);
    expect(callsOf(x, 'ResolvePeriod')[0]!.error?.name).toBe('InvalidEventError');
    expect(eventsOf(x, 'StateRetried')).toEqual([]);
    expect(x.status).toBe('FAILED');
    expect(x.error).toBe('ReportFailed');
    const notices = published(x);
    expect(notices).toHaveLength(1);
    expect(notices[0]!.input).toMatchObject({ Message: { error: 'InvalidEventError', cause: expect.stringContaining('unknown report "no-such-report"') } });
    expect(callsOf(x, 'QueryMetrics')).toEqual([]);
    expect(callsOf(x, 'ArchiveAndDeliver')).toEqual([]);
  });
});
