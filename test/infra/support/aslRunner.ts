/**
 * Runs the state machine exactly as CloudFormation would deploy it, in a real Amazon States
 * Language interpreter (aws-local-stepfunctions), with a local function standing in for every Task
 * resource. The definition is the synthesized DefinitionString with its intrinsics resolved to
 * placeholder ARNs that name each resource's logical id, so a test can tell which function a state
 * invokes. Nothing here reaches AWS: a Task without a stand-in is refused before the run starts
 * (the interpreter would otherwise call the real Lambda through the SDK).
 */
import { ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';

// aws-local-stepfunctions 3 declares node >= 22 and uses Promise.withResolvers (Node 22) for every
// Task. On Node 20 that would throw a TypeError inside each Task, which the Catch turns into an ops
// notice: every run would "fail correctly". Supply it here, for the interpreter only.
type WithResolvers = <T>() => { promise: Promise<T>; resolve: (v: T | PromiseLike<T>) => void; reject: (e?: unknown) => void };
const P = Promise as unknown as { withResolvers?: WithResolvers };
if (typeof P.withResolvers !== 'function') {
  P.withResolvers = <T>() => {
    let resolve!: (v: T | PromiseLike<T>) => void;
    let reject!: (e?: unknown) => void;
    const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
    return { promise, resolve, reject };
  };
}

export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** The placeholder ARN that stands for a resource of the template, naming its logical id. */
export function placeholderArn(type: string, logicalId: string): string {
  switch (type) {
    case 'AWS::Lambda::Function':
      return `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${logicalId}`;
    case 'AWS::SNS::Topic':
      return `arn:aws:sns:${REGION}:${ACCOUNT}:${logicalId}`;
    default:
      throw new Error(`no placeholder ARN for ${type} ${logicalId}`);
  }
}

/** Resolves the intrinsics a DefinitionString may hold; anything else is an error, never a guess. */
function resolve(value: unknown, resources: Resources): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if ('Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => resolve(p, resources)).join(sep);
  }
  if ('Ref' in v) {
    const id = v['Ref'] as string;
    const pseudo: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': REGION, 'AWS::AccountId': ACCOUNT, 'AWS::URLSuffix': 'amazonaws.com' };
    if (id in pseudo) return pseudo[id]!;
    const r = resources[id];
    if (!r) throw new Error(`Ref to unknown resource ${id}`);
    // Ref of a topic is its ARN; of a function, its name.
    if (r.Type === 'AWS::SNS::Topic') return placeholderArn(r.Type, id);
    if (r.Type === 'AWS::Lambda::Function') return id;
    throw new Error(`Ref to ${r.Type} ${id} is not resolved by this runner`);
  }
  if ('Fn::GetAtt' in v) {
    const [id, attr] = v['Fn::GetAtt'] as [string, string];
    const r = resources[id];
    if (!r) throw new Error(`Fn::GetAtt of unknown resource ${id}`);
    if (attr === 'Arn') return placeholderArn(r.Type, id);
    throw new Error(`Fn::GetAtt ${id}.${attr} is not resolved by this runner`);
  }
  throw new Error(`unresolved intrinsic in DefinitionString: ${JSON.stringify(value).slice(0, 200)}`);
}

export interface DeployedStateMachine {
  logicalId: string;
  definition: StateMachineDefinition;
  /** Task state name -> its Resource as deployed (placeholder ARNs). */
  resources: Record<string, string>;
}

/** The one AWS::StepFunctions::StateMachine of a synthesized template, as it would be deployed. */
export function deployedStateMachine(template: { Resources: Resources }): DeployedStateMachine {
  const all = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (all.length !== 1) throw new Error(`expected one state machine, found ${all.length}`);
  const [logicalId, sm] = all[0]!;
  const definition = JSON.parse(resolve(sm.Properties!['DefinitionString'], template.Resources)) as StateMachineDefinition;
  const resources: Record<string, string> = {};
  for (const [name, s] of allStates(definition)) if (s.Type === 'Task') resources[name] = s.Resource!;
  return { logicalId, definition, resources };
}

type AnyState = { Type: string; Resource?: string; Iterator?: Machine; ItemProcessor?: Machine; Branches?: Machine[] };
type Machine = { States: Record<string, AnyState> };

/** Every state of the definition by name, those nested in Map and Parallel states included. */
export function allStates(definition: StateMachineDefinition): [string, AnyState][] {
  const out: [string, AnyState][] = [];
  const walk = (m: Machine) => {
    for (const [name, s] of Object.entries(m.States)) {
      out.push([name, s]);
      for (const inner of [s.Iterator, s.ItemProcessor, ...(s.Branches ?? [])]) if (inner) walk(inner);
    }
  };
  walk(definition as unknown as Machine);
  return out;
}

/** A stand-in for a Task resource: returns the result, or throws (its `name` is the Error). */
export type TaskHandler = (input: Json, call: { state: string; attempt: number }) => Json | Promise<Json>;

export interface TaskCall {
  state: string;
  resource: string;
  /** 1 for the first try of this state in this run, 2 for its first retry, ... */
  attempt: number;
  input: Json;
  error?: { name: string; message: string };
}

export type AslEvent = { type: string; timestamp: number; state?: { name: string }; retry?: { attempt: number; retrier: { ErrorEquals: string[] } }; catch?: unknown; Error?: string; Cause?: unknown };

export interface Execution {
  status: 'SUCCEEDED' | 'FAILED';
  output?: Json;
  /** Of a failed execution: the error and cause it ends with. */
  error?: string;
  cause?: unknown;
  calls: TaskCall[];
  events: AslEvent[];
  ms: number;
}

/** Builds an Error whose name is what Step Functions matches in Retry and Catch. */
export function named(name: string, message = `${name} injected by the test`): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

const machines = new WeakMap<DeployedStateMachine, StateMachine>();

/**
 * Starts one execution of the deployed definition. `handlers` is keyed by Task Resource (the
 * placeholder ARN, or the service integration ARN such as arn:aws:states:::sns:publish); every
 * Task of the definition must have one. Retry waits are overridden to 0 ms (the declared
 * intervals are 2 s to 60 s with backoff; the retriers, counts and matching are untouched).
 */
export async function execute(
  sm: DeployedStateMachine,
  input: Json,
  handlers: Record<string, TaskHandler>,
  opts: {
    executionName?: string;
    retryWaitMs?: number;
    /** Every Wait state waits this long instead (default: as declared). */
    waitMs?: number;
    /** Aborts the execution (e.g. the test's own signal, when the test times out). */
    signal?: AbortSignal;
  } = {},
): Promise<Execution> {
  const missing = Object.entries(sm.resources).filter(([, r]) => !handlers[r]);
  if (missing.length) throw new Error(`no stand-in for ${missing.map(([s, r]) => `${s} (${r})`).join(', ')}`);

  const calls: TaskCall[] = [];
  const local: Record<string, (input: Json) => Promise<Json>> = {};
  const retryIntervalOverrides: Record<string, number> = {};
  for (const [state, resource] of Object.entries(sm.resources)) {
    retryIntervalOverrides[state] = opts.retryWaitMs ?? 0;
    local[state] = async (taskInput: Json) => {
      const call: TaskCall = { state, resource, attempt: 0, input: structuredClone(taskInput) };
      // attempt counts the calls of this state since it was last entered
      let n = 0;
      for (let i = calls.length - 1; i >= 0 && calls[i]!.state === state; i--) n++;
      call.attempt = n + 1;
      calls.push(call);
      try {
        return await handlers[resource]!(taskInput, { state, attempt: call.attempt });
      } catch (e) {
        const err = e as Error;
        call.error = { name: err.name, message: err.message };
        throw e;
      }
    };
  }

  const name = opts.executionName ?? 'test-run';
  // Validating the definition (asl-validator) costs ~0.3 s: once per definition, not per run.
  let machine = machines.get(sm);
  if (!machine) machines.set(sm, (machine = new StateMachine(sm.definition)));
  const started = performance.now();
  const waitTimeOverrides: Record<string, number> = {};
  if (opts.waitMs !== undefined) for (const [state, s] of allStates(sm.definition)) if (s.Type === 'Wait') waitTimeOverrides[state] = opts.waitMs;
  const run = machine.run(input as never, {
    overrides: { taskResourceLocalHandlers: local as never, retryIntervalOverrides, waitTimeOverrides },
    context: { Execution: { Id: `arn:aws:states:${REGION}:${ACCOUNT}:execution:${sm.logicalId}:${name}`, Name: name } },
  });
  opts.signal?.addEventListener('abort', () => run.abort(), { once: true });
  const events: AslEvent[] = [];
  const drained = (async () => {
    for await (const e of run.eventLogs) events.push(e as unknown as AslEvent);
  })();
  let result: Execution;
  try {
    const output = (await run.result) as Json;
    result = { status: 'SUCCEEDED', output, calls, events, ms: 0 };
  } catch (e) {
    if (!(e instanceof ExecutionError)) throw e;
    const cause = e.cause as Error;
    result = { status: 'FAILED', error: cause.name, cause: cause.message, calls, events, ms: 0 };
  }
  await drained;
  result.ms = performance.now() - started;
  return result;
}
