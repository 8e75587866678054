/**
 * The burst part of the deployed state machine, executed in an Amazon States Language interpreter
 * (aws-local-stepfunctions, test/infra/support/aslRunner.ts) with stand-ins for the functions and
 * SNS: the recipient warnings reach ops once; every team listed by the company render is rendered
 * and delivered on its own in the Map; a team that fails is one ops notice naming it while the
 * other teams and then the company report are delivered; the run succeeds.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { deployedStateMachine, execute, named, placeholderArn, type DeployedStateMachine, type TaskHandler } from '../infra/support/aslRunner.js';
import { synthStack } from '../infra/support/synth.js';

const SNS_PUBLISH = 'arn:aws:states:::sns:publish';
const START = { reportId: 'monthly-service-review', period: '2026-10' };
const BASE = { reportId: 'monthly-service-review', period: '2026-10', timezone: 'Europe/Moscow', force: false, runId: 'run-burst' };
const item = (value: string) => ({ reportId: BASE.reportId, period: BASE.period, force: false, runId: BASE.runId, burst: { kind: 'team', value } });

let sm: DeployedStateMachine;
const fn: Record<string, string> = {};

beforeAll(() => {
  const template = synthStack().template.toJSON() as { Resources: Record<string, { Type: string }> };
  for (const c of ['ResolvePeriodFunction', 'QueryFunction', 'RenderFunction', 'DeliverFunction']) {
    const id = Object.keys(template.Resources).find((k) => template.Resources[k]!.Type === 'AWS::Lambda::Function' && new RegExp(`^${c}[0-9A-F]{8}$`).test(k))!;
    fn[c] = placeholderArn('AWS::Lambda::Function', id);
  }
  sm = deployedStateMachine(template as never);
}, 120_000);

describe('a report that bursts by team, in the deployed state machine', () => {
  it('tells ops the warnings once, renders and delivers each team on its own, reports a failed team to ops, then delivers the company report', async () => {
    // Prepare: three teams listed by the company render; the render of "Broken" fails for good
    const rendered: unknown[] = [];
    const delivered: unknown[] = [];
    const published: { Subject?: string; Message?: unknown }[] = [];
    const handlers: Record<string, TaskHandler> = {
      [fn.ResolvePeriodFunction!]: () => BASE,
      [fn.QueryFunction!]: (input) => ({ ...(input as object), metricsKey: 'work/run-burst/metrics.json' }),
      [fn.RenderFunction!]: (input) => {
        const e = input as { burst?: { value: string } };
        rendered.push(structuredClone(input));
        if (e.burst?.value === 'Broken') throw named('TemplateError', 'templates/default/report.hbs:3: unknown field');
        if (e.burst) return { ...(input as object), pdfKey: `work/run-burst/${e.burst.value}/report.pdf` } as never;
        return { ...(input as object), pdfKey: 'work/run-burst/report.pdf', bursts: [item('Billing'), item('Broken'), item('售后服务')], burstWarnings: ['team "unassigned" has no recipients'] } as never;
      },
      [fn.DeliverFunction!]: (input) => {
        delivered.push(structuredClone(input));
        return { ...(input as object), delivery: 'sent' };
      },
      [SNS_PUBLISH]: (input) => {
        published.push(input as { Subject?: string; Message?: unknown });
        return { MessageId: `m-${published.length}` };
      },
    };

    // Act
    const x = await execute(sm, START, handlers, { executionName: 'run-burst' });

    // Assess
    expect(x.status).toBe('SUCCEEDED');
    expect(rendered.map((r) => (r as { burst?: { value: string } }).burst?.value ?? 'company')).toEqual(['company', 'Billing', 'Broken', '售后服务']);
    // Each team's iteration gets exactly its own step event.
    expect(rendered[1]).toEqual(item('Billing'));
    // The teams first, each on its own, then the company report (its input still the company's).
    const order = delivered.map((d) => (d as { burst?: { value: string } }).burst?.value ?? 'company');
    expect(order.slice(0, 2).sort()).toEqual(['Billing', '售后服务']);
    expect(order).toHaveLength(3);
    expect(order[2]).toBe('company');
    expect(delivered[2]).toMatchObject({ reportId: 'monthly-service-review', period: '2026-10', pdfKey: 'work/run-burst/report.pdf' });
    // Ops: the warnings once, the failed team once; no run failure notice.
    expect(published.map((p) => p.Subject)).toEqual(['Team reports: recipients do not match the data', 'Customer-service team report failed']);
    expect(published[0]!.Message).toMatchObject({ reportId: 'monthly-service-review', period: '2026-10', warnings: ['team "unassigned" has no recipients'] });
    expect(published[1]!.Message).toMatchObject({ burst: { kind: 'team', value: 'Broken' }, error: 'TemplateError' });
  }, 60_000);

  it('without bursts goes from the render straight to the company delivery', async () => {
    const states: string[] = [];
    const handlers: Record<string, TaskHandler> = {
      [fn.ResolvePeriodFunction!]: () => BASE,
      [fn.QueryFunction!]: (input) => input,
      [fn.RenderFunction!]: (input, call) => (states.push(call.state), { ...(input as object), pdfKey: 'work/run-burst/report.pdf' }),
      [fn.DeliverFunction!]: (input, call) => (states.push(call.state), { ...(input as object), delivery: 'sent' }),
      [SNS_PUBLISH]: (_input, call) => (states.push(call.state), { MessageId: 'm' }),
    };
    const x = await execute(sm, START, handlers);
    expect(x.status).toBe('SUCCEEDED');
    expect(states).toEqual(['RenderReport', 'ArchiveAndDeliver']);
  }, 60_000);
});
