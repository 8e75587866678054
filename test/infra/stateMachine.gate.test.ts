/**
 * The data gate on AWS, executed: the synthesized state machine runs in the ASL interpreter with
 * stand-ins for the functions. The query stand-in answers with the verdict of the real
 * `gateVerdict` (functions/handlers/query.ts) on a clock that moves on by each wait the machine
 * actually took, so the loop is: held -> Wait (the seconds the verdict asked for) -> query again
 * -> ... until the data is complete (render and deliver) or the deadline passes (one ops notice
 * with the reasons, no render, no delivery, the run fails as ReportHeld).
 *
 * The gate settings are scaled down to seconds (re-check every second, give up after four), so the
 * interpreter's Wait state really waits what the verdict asked for; the settings as configured
 * (hours) are the handler's unit test (gateHandler.test.ts).
 */
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { gateVerdict } from '../../functions/handlers/query.js';
import { synthStack } from './support/synth.js';
import { deployedStateMachine, type DeployedStateMachine, execute, type Execution, placeholderArn, type TaskHandler } from './support/aslRunner.js';

const SNS_PUBLISH = 'arn:aws:states:::sns:publish';
const FUNCTIONS = { ResolvePeriod: 'ResolvePeriodFunction', QueryMetrics: 'QueryFunction', RenderReport: 'RenderFunction', ArchiveAndDeliver: 'DeliverFunction' } as const;
const ARN = {} as Record<keyof typeof FUNCTIONS, string>;
let OPS_TOPIC = '';
let sm: DeployedStateMachine;

function logicalId(resources: Record<string, { Type: string }>, type: string, constructId: string): string {
  const ids = Object.keys(resources).filter((id) => resources[id]!.Type === type && new RegExp(`^${constructId}[0-9A-F]{8}$`).test(id));
  if (ids.length !== 1) throw new Error(`expected one ${type} ${constructId}<hash>, found ${ids.join(', ') || 'none'}`);
  return ids[0]!;
}

beforeAll(() => {
  const template = synthStack().template.toJSON() as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
  for (const [state, construct] of Object.entries(FUNCTIONS)) ARN[state as keyof typeof FUNCTIONS] = placeholderArn('AWS::Lambda::Function', logicalId(template.Resources, 'AWS::Lambda::Function', construct));
  OPS_TOPIC = placeholderArn('AWS::SNS::Topic', logicalId(template.Resources, 'AWS::SNS::Topic', 'OpsTopic'));
  sm = deployedStateMachine(template as never);
});

const START = { reportId: 'monthly-service-review', scheduledTime: '2026-11-01T04:00:00Z' };
const T0 = Date.parse('2026-11-01T04:00:05Z');
const REASON = 'complaints: no export files (the report\'s indicators read this table)';
/** The gate settings the query stand-in judges with: re-check every second, give up after four. */
const GATE = { recheckEveryHours: 1 / 3600, deadlineHours: 4 / 3600 };

/**
 * Stand-ins; the query is held on its first `heldChecks` calls (Infinity: always). The clock of
 * each check is T0 plus the Wait seconds the machine was given before it.
 */
function standIns(heldChecks: number) {
  let clock = T0;
  let checks = 0;
  const handlers: Record<string, TaskHandler> = {
    [ARN.ResolvePeriod]: (input) => {
      const { start, runId } = input as { start: { reportId: string }; runId: string };
      return { reportId: start.reportId, period: '2026-10', force: false, runId };
    },
    [ARN.QueryMetrics]: (input) => {
      const previous = (input as { gate?: { held: boolean; recheckSeconds?: number; firstHeldAt?: string } }).gate;
      if (previous?.held) clock += previous.recheckSeconds! * 1000;
      checks++;
      const held = checks <= heldChecks;
      const gate = gateVerdict(held, held ? [REASON] : [], GATE, new Date(clock), previous?.held ? previous.firstHeldAt : undefined);
      const { gate: _old, ...rest } = input as Record<string, unknown>;
      return { ...rest, metricsKey: `work/${(input as { runId: string }).runId}/metrics.json`, statusCounts: {}, ingestFailures: 0, gate } as never;
    },
    [ARN.RenderReport]: (input) => ({ ...(input as object), pdfKey: 'work/x/report.pdf' }),
    [ARN.ArchiveAndDeliver]: (input) => ({ ...(input as object), delivered: true }),
    [SNS_PUBLISH]: () => ({ MessageId: 'm-1' }),
  };
  return handlers;
}

const callsOf = (x: Execution, state: string) => x.calls.filter((c) => c.state === state);
const entered = (x: Execution) => x.events.filter((e) => e.type === 'StateEntered').map((e) => e.state!.name);

describe('the data gate in the deployed state machine', () => {
  it('declares a Wait that takes its seconds from the query result, and a deadline the machine outlives', () => {
    const wait = sm.definition.States['WaitForData'] as unknown as { Type: string; SecondsPath: string; Next: string };
    expect(wait).toMatchObject({ Type: 'Wait', SecondsPath: '$.gate.recheckSeconds', Next: 'QueryMetrics' });
    const held = sm.definition.States['NotifyReportHeld'] as unknown as { Parameters: { TopicArn: string } };
    expect(held.Parameters.TopicArn).toBe(OPS_TOPIC);
    // config/reports.yaml gives no deadline: the default 72 h, plus the 2 h of work.
    expect((sm.definition as unknown as { TimeoutSeconds: number }).TimeoutSeconds).toBe((72 + 2) * 3600);
  });

  it('passes complete data straight on: one query, rendered and delivered, no wait, no notice', async () => {
    const x = await execute(sm, START, standIns(0), { executionName: 'gate-ok' });

    expect(x.status).toBe('SUCCEEDED');
    expect(x.calls.map((c) => c.state)).toEqual(['ResolvePeriod', 'QueryMetrics', 'RenderReport', 'ArchiveAndDeliver']);
    expect(entered(x)).not.toContain('WaitForData');
    expect(callsOf(x, 'NotifyReportHeld')).toEqual([]);
  });

  it('waits and re-checks held data, then renders and delivers once the data is complete', async () => {
    const x = await execute(sm, START, standIns(2), { executionName: 'gate-late' });

    expect(x.status).toBe('SUCCEEDED');
    // held at +0 s and +1 s, complete at +2 s
    expect(x.calls.map((c) => c.state)).toEqual(['ResolvePeriod', 'QueryMetrics', 'QueryMetrics', 'QueryMetrics', 'RenderReport', 'ArchiveAndDeliver']);
    expect(entered(x).filter((s) => s === 'WaitForData')).toHaveLength(2);
    const waits = callsOf(x, 'QueryMetrics').slice(1).map((c) => (c.input as { gate: { recheckSeconds: number } }).gate.recheckSeconds);
    expect(waits).toEqual([1, 1]);
    expect(x.ms).toBeGreaterThanOrEqual(2000); // the two waits were waited
    expect(callsOf(x, 'NotifyReportHeld')).toEqual([]);
    expect(callsOf(x, 'NotifyOps')).toEqual([]);
    expect(callsOf(x, 'RenderReport')).toHaveLength(1);
  });

  it('at the deadline tells ops the reasons once and ends without rendering or delivering', async () => {
    const x = await execute(sm, START, standIns(Infinity), { executionName: 'gate-held' });

    expect(x.status).toBe('FAILED');
    expect(x.error).toBe('ReportHeld');
    // checks at +0, +1, +2, +3 s (held, wait), +4 s (deadline: give up)
    expect(callsOf(x, 'QueryMetrics')).toHaveLength(5);
    expect(entered(x).filter((s) => s === 'WaitForData')).toHaveLength(4);
    expect(callsOf(x, 'RenderReport')).toEqual([]);
    expect(callsOf(x, 'ArchiveAndDeliver')).toEqual([]);
    expect(callsOf(x, 'NotifyOps')).toEqual([]);
    const notices = callsOf(x, 'NotifyReportHeld');
    expect(notices).toHaveLength(1);
    const message = (notices[0]!.input as { Message: Record<string, unknown>; TopicArn: string });
    expect(message.TopicArn).toBe(OPS_TOPIC);
    expect(message.Message).toMatchObject({ reportId: 'monthly-service-review', period: '2026-10', reasons: [REASON], heldSince: new Date(T0).toISOString(), execution: 'gate-held' });
  });

  it('fails as ReportHeld, still without delivering, when the notice cannot be published', async () => {
    const h = standIns(Infinity);
    h[SNS_PUBLISH] = () => {
      const e = new Error('SNS is down');
      e.name = 'SNS.InternalErrorException';
      throw e;
    };
    const x = await execute(sm, START, h, { executionName: 'gate-held-nosns' });

    expect(x.status).toBe('FAILED');
    expect(x.error).toBe('ReportHeld');
    expect(callsOf(x, 'NotifyReportHeld')).toHaveLength(4); // 1 + 3 retries
    expect(callsOf(x, 'ArchiveAndDeliver')).toEqual([]);
  });
});

describe('the data gate in the deployed stack', () => {
  it("tells the query function a source mapping's tables (the only ones the gate judges), and only with a mapping", () => {
    const mapped = synthStack({ mappingFile: 'mappings/olist.yaml' }).template;
    const plain = synthStack().template;
    const queryEnv = (t: typeof plain) =>
      Object.values(t.findResources('AWS::Lambda::Function', { Properties: { Handler: Match.anyValue(), Environment: { Variables: { ATHENA_WORKGROUP: Match.anyValue() } } } })).map(
        (r) => (r as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment.Variables,
      );
    // config/mappings/olist.yaml maps orders and surveys
    expect(queryEnv(mapped).map((v) => v['MAPPED_TABLES'])).toEqual(['orders,surveys']);
    expect(queryEnv(plain).map((v) => v['MAPPED_TABLES'])).toEqual([undefined]);
  });
});
