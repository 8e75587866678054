/**
 * The synthesized template as AWS would judge it: cfn-lint (pinned, from PyPI, in .cache/venv,
 * provisioned by the test itself: test/support/cfnLint.ts) finds no error and no warning beyond the
 * reasoned ignores below, and the state machine definition is well-formed ASL (every transition
 * names a state). Lambda bundle sizes are not printed: the tests synthesize without bundling
 * (test/infra/support/synth.ts), so no bundle exists here.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { cfnLintOrSkip, CFN_LINT_VERSION, runCfnLint } from '../support/cfnLint.js';
import { synthStack } from './support/synth.js';

/**
 * Rules not applied, each with its reason. Nothing else is ignored.
 * - W3005 (DependsOn already enforced by a GetAtt/Ref): CDK itself gives every Lambda function and
 *   the state machine a DependsOn on its role (and its default policy, which is needed, so the
 *   policy exists before the first invocation); naming the role there too is redundant but
 *   harmless, and is CDK's output, not ours.
 */
const IGNORE_CHECKS = ['W3005'];

type Json = Record<string, unknown>;
let template: Json;

beforeAll(() => {
  template = synthStack().template.toJSON() as Json;
});

describe('cfn-lint', () => {
  it(`finds no error or warning in the template (cfn-lint ${CFN_LINT_VERSION})`, (ctx) => {
    const p = cfnLintOrSkip();
    if ('skip' in p) return ctx.skip(p.skip);
    process.stderr.write(`cfn-lint ${CFN_LINT_VERSION}: venv ${p.built ? `built in ${p.ms} ms` : 'ready'}\n`);
    const r = runCfnLint(p, template, { ignoreChecks: IGNORE_CHECKS });
    if (r.lines.length) process.stderr.write(`cfn-lint findings:\n${r.lines.map((l) => `  ${l}`).join('\n')}\n`);
    expect(r.errors.map((m) => m.Rule.Id + ' ' + m.Message)).toEqual([]);
    expect(r.warnings.map((m) => m.Rule.Id + ' ' + m.Message)).toEqual([]);
  }, 600_000);
});

// --- a small ASL structure check ------------------------------------------------------------------

interface AslState {
  Type?: string;
  Next?: string;
  Default?: string;
  End?: boolean;
  Catch?: { Next?: string }[];
  Choices?: { Next?: string }[];
  Branches?: AslMachine[];
  Iterator?: AslMachine;
  ItemProcessor?: AslMachine;
}
interface AslMachine {
  StartAt?: string;
  States?: Record<string, AslState>;
}

/** Problems in a definition: StartAt missing from States, a transition to no state, a dead end. */
function aslProblems(m: AslMachine, where = '$'): string[] {
  const problems: string[] = [];
  const states = m.States ?? {};
  if (!m.StartAt || !(m.StartAt in states)) problems.push(`${where}: StartAt ${JSON.stringify(m.StartAt)} is not a state`);
  const target = (from: string, field: string, to: string | undefined) => {
    if (to !== undefined && !(to in states)) problems.push(`${where}.${from}.${field}: ${JSON.stringify(to)} is not a state`);
  };
  for (const [name, s] of Object.entries(states)) {
    target(name, 'Next', s.Next);
    target(name, 'Default', s.Default);
    (s.Catch ?? []).forEach((c, i) => target(name, `Catch[${i}].Next`, c.Next));
    (s.Choices ?? []).forEach((c, i) => target(name, `Choices[${i}].Next`, c.Next));
    const terminal = s.Type === 'Succeed' || s.Type === 'Fail' || s.Type === 'Choice';
    if (!terminal && !s.Next && s.End !== true) problems.push(`${where}.${name}: neither Next nor End`);
    (s.Branches ?? []).forEach((b, i) => problems.push(...aslProblems(b, `${where}.${name}.Branches[${i}]`)));
    for (const k of ['Iterator', 'ItemProcessor'] as const) if (s[k]) problems.push(...aslProblems(s[k], `${where}.${name}.${k}`));
  }
  return problems;
}

/** The DefinitionString with every token of its Fn::Join replaced by a placeholder string. */
function definitionText(): string {
  const resources = template['Resources'] as Record<string, { Type: string; Properties: Json }>;
  const machines = Object.values(resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  expect(machines).toHaveLength(1);
  const body = machines[0]!.Properties['DefinitionString'];
  if (typeof body === 'string') return body;
  const [sep, parts] = (body as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return parts.map((p) => (typeof p === 'string' ? p : 'PLACEHOLDER')).join(sep);
}

describe('state machine definition', () => {
  it('is valid JSON, starts at a state, and every Next/Default/Catch.Next names an existing state', () => {
    const text = definitionText();
    let machine: AslMachine;
    expect(() => (machine = JSON.parse(text))).not.toThrow();
    expect(machine!.StartAt).toBe('ResolvePeriod');
    expect(Object.keys(machine!.States ?? {}).length).toBeGreaterThan(4);
    expect(aslProblems(machine!)).toEqual([]);
  });

  it('the check itself catches a dangling transition, a missing StartAt and a dead end', () => {
    const broken: AslMachine = {
      StartAt: 'Nowhere',
      States: {
        A: { Type: 'Task', Next: 'B', Catch: [{ Next: 'Gone' }] },
        B: { Type: 'Choice', Choices: [{ Next: 'A' }], Default: 'Missing' },
        C: { Type: 'Pass' },
      },
    };
    expect(aslProblems(broken)).toEqual([
      '$: StartAt "Nowhere" is not a state',
      '$.A.Catch[0].Next: "Gone" is not a state',
      '$.B.Default: "Missing" is not a state',
      '$.C: neither Next nor End',
    ]);
  });
});
