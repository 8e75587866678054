/** Backfill against a mocked Step Functions client: one StartExecution per period, a summary. */
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { executionName, periodsBetween, runBackfill } from '../../functions/cli/backfill.js';

const sfnMock = mockClient(SFNClient);
const ARN = 'arn:aws:states:eu-west-1:000000000000:stateMachine:reports';
const now = new Date('2026-11-23T12:34:56.789Z');

beforeEach(() => sfnMock.reset());

describe('backfill', () => {
  it('lists periods across a year boundary, inclusive, and rejects reversed or huge ranges', () => {
    expect(periodsBetween('2025-11', '2026-02')).toEqual(['2025-11', '2025-12', '2026-01', '2026-02']);
    expect(periodsBetween('2026-03', '2026-03')).toEqual(['2026-03']);
    expect(() => periodsBetween('2026-03', '2026-02')).toThrow(/after/);
    expect(() => periodsBetween('2000-01', '2026-01')).toThrow(/at most 120/);
    expect(() => periodsBetween('2026-13', '2026-14')).toThrow(/invalid period/);
  });

  it('starts one execution per period, oldest first, with the period in the input', async () => {
    sfnMock.on(StartExecutionCommand).callsFake((input: { name: string }) => ({ executionArn: `${ARN}:${input.name}`, startDate: now }));
    const progress: string[] = [];
    const summary = await runBackfill({
      sfn: new SFNClient({ region: 'eu-west-1' }),
      stateMachineArn: ARN,
      reportId: 'monthly-service-review',
      from: '2025-12',
      to: '2026-02',
      now,
      onProgress: (done, total, period, status) => progress.push(`${done}/${total} ${period} ${status}`),
    });
    const calls = sfnMock.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => JSON.parse(c.input!))).toEqual([
      { reportId: 'monthly-service-review', period: '2025-12', force: false },
      { reportId: 'monthly-service-review', period: '2026-01', force: false },
      { reportId: 'monthly-service-review', period: '2026-02', force: false },
    ]);
    expect(calls.every((c) => c.stateMachineArn === ARN)).toBe(true);
    expect(calls[0]!.name).toBe('monthly-service-review-2025-12-backfill-20261123T123456Z');
    expect(progress).toEqual(['1/3 2025-12 started', '2/3 2026-01 started', '3/3 2026-02 started']);
    expect(summary).toMatchObject({ started: 3, alreadyExists: 0, failed: 0 });
  });

  it('counts existing executions and failures separately and keeps going', async () => {
    sfnMock
      .on(StartExecutionCommand)
      .resolvesOnce({ executionArn: `${ARN}:a` })
      .rejectsOnce(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }))
      .rejectsOnce(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }))
      .resolves({ executionArn: `${ARN}:d` });
    const summary = await runBackfill({ sfn: new SFNClient({ region: 'eu-west-1', maxAttempts: 1 }), stateMachineArn: ARN, reportId: 'r', from: '2026-01', to: '2026-04', force: true, now });
    expect(summary.items.map((i) => i.status)).toEqual(['started', 'already_exists', 'failed', 'started']);
    expect(summary.items[2]!.error).toMatch(/AccessDeniedException/);
    expect(summary).toMatchObject({ started: 2, alreadyExists: 1, failed: 1 });
    expect(JSON.parse(sfnMock.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!).force).toBe(true);
  });

  it('keeps execution names within 80 characters', () => {
    const name = executionName('a'.repeat(100), '2026-01', now);
    expect(name.length).toBe(80);
    expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});
