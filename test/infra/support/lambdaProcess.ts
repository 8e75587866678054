/**
 * The Lambda functions of a synthesized stack run as Lambda runs them, one child process (node) per
 * invocation:
 * - the code is the function's asset folder in cdk.out (the bundle `cdk synth` produced, not the
 *   TypeScript sources), made read-only (chmod -R a-w) and used as the task root (LAMBDA_TASK_ROOT,
 *   the working directory); when the tests run as root, the process runs as the unprivileged user
 *   nobody (65534), so read-only really holds, as on Lambda where the code is not writable;
 * - the environment is the function's Environment from the template, with its Refs resolved to the
 *   local stand-ins' names (`resolveRef`) and `/var/task` (where Lambda puts the code) read as the
 *   code folder, plus what the Lambda runtime sets (AWS_LAMBDA_FUNCTION_NAME, _MEMORY_SIZE,
 *   LAMBDA_TASK_ROOT, TZ=UTC, AWS_REGION) and what points the AWS SDK at the local twins
 *   (AWS_ENDPOINT_URL_<SERVICE>, fake credentials, no shared config files);
 * - a writable TMPDIR of its own per function (Lambda's /tmp), kept across invocations as a warm
 *   sandbox keeps /tmp (Chromium unpacks itself there once);
 * - the handler named by Handler is called with the event (lambdaChild.mjs); its result comes back,
 *   or its error as Lambda reports it: { errorType, errorMessage, trace };
 * - the template's Timeout is enforced: past it the process is killed and the invocation fails with
 *   Sandbox.Timedout ("Task timed out after N seconds"); a process that ends without answering
 *   (a crash, killed) fails with Runtime.ExitError, as on Lambda.
 * Faults a test injects per function: an error of the Lambda service itself (the invoke is refused,
 * no process runs), a kill after some milliseconds, a shorter timeout, extra environment variables.
 */
import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BundledFunction, BundledStack } from './bundledStack.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Where Lambda puts a function's code; env values under it are read as the local code folder. */
const LAMBDA_TASK_ROOT = '/var/task';
/** The unprivileged user (nobody) the functions run as when the tests run as root. */
const NOBODY = 65534;

export interface LambdaError {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

export interface Invocation {
  logicalId: string;
  requestId: string;
  event: Json;
  ok?: boolean;
  result?: Json;
  error?: LambdaError;
  /** What the process wrote (Powertools' JSON log lines, Chromium's complaints). */
  output: string;
  ms: number;
}

export type Fault =
  /** The Lambda service refuses the invoke with this error (e.g. Lambda.TooManyRequestsException). */
  | { service: string; message?: string }
  /** The process is killed (SIGKILL) this long after it started. */
  | { killAfterMs: number }
  /** The function runs with this Timeout instead of the template's (to test a timeout quickly). */
  | { timeoutSeconds: number }
  /** Extra environment variables for this invocation. */
  | { env: Record<string, string> };

export interface LocalLambdasOptions {
  stack: BundledStack;
  /** The local name of the resource a `{ Ref }` in an Environment names (e.g. a bucket -> its s3rver bucket). */
  resolveRef: (logicalId: string, type: string) => string;
  /** Environment variables that point the SDK at local endpoints, e.g. { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1234' }. */
  endpoints: Record<string, string>;
  /** The (fake) credentials the local twins accept; s3rver takes S3RVER / S3RVER. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  region?: string;
}

export class LocalLambdas {
  readonly invocations: Invocation[] = [];
  private readonly runtimeDir: string;
  private readonly tmpDirs = new Map<string, string>();
  private readonly running = new Map<string, Set<ChildProcess>>();
  private readonly faults = new Map<string, (n: number) => Fault | undefined>();
  private readonly counts = new Map<string, number>();
  private readonly asUser: number | undefined;

  constructor(private readonly opts: LocalLambdasOptions) {
    this.asUser = process.getuid?.() === 0 ? NOBODY : undefined;
    // The child script lives outside the project (which user nobody may not be able to read).
    this.runtimeDir = mkdtempSync(join(tmpdir(), 'lambda-runtime-'));
    copyFileSync(join(import.meta.dirname, 'lambdaChild.mjs'), join(this.runtimeDir, 'lambdaChild.mjs'));
    chmodSync(this.runtimeDir, 0o755);
    chmodSync(join(this.runtimeDir, 'lambdaChild.mjs'), 0o444);
    // The code, read-only; the folders above it traversable.
    chmodSync(opts.stack.outDir, 0o755);
    for (const f of Object.values(opts.stack.functions)) {
      const r = spawnSync('chmod', ['-R', 'a-w', f.assetDir]);
      if (r.status !== 0) throw new Error(`chmod -R a-w ${f.assetDir} failed: ${r.stderr}`);
    }
  }

  /** The function whose logical id is `logicalId`. */
  fn(logicalId: string): BundledFunction {
    const f = this.opts.stack.functions[logicalId];
    if (!f) throw new Error(`no bundled function ${logicalId} in the template`);
    return f;
  }

  /** Faults for the next invocations of a function: `plan(n)` for its n-th invocation from now (1-based). */
  inject(logicalId: string, plan: (n: number) => Fault | undefined): void {
    this.fn(logicalId);
    this.faults.set(logicalId, plan);
    this.counts.set(logicalId, 0);
  }

  clearFaults(): void {
    this.faults.clear();
    this.counts.clear();
  }

  /** Kills every running process of a function (a crash from outside). */
  kill(logicalId: string, signal: NodeJS.Signals = 'SIGKILL'): number {
    const procs = [...(this.running.get(logicalId) ?? [])];
    for (const p of procs) p.kill(signal);
    return procs.length;
  }

  /** The function's environment as deployed, resolved for this machine. */
  environment(f: BundledFunction): Record<string, string> {
    const resources = this.opts.stack.template.Resources;
    const resolve = (name: string, v: unknown): string => {
      if (typeof v === 'string') return v === LAMBDA_TASK_ROOT || v.startsWith(`${LAMBDA_TASK_ROOT}/`) ? f.assetDir + v.slice(LAMBDA_TASK_ROOT.length) : v;
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      const o = v as Record<string, unknown>;
      if (o && typeof o['Ref'] === 'string') {
        const id = o['Ref'];
        const r = resources[id];
        if (!r) throw new Error(`${f.logicalId} ${name}: Ref to unknown resource ${id}`);
        return this.opts.resolveRef(id, r.Type);
      }
      throw new Error(`${f.logicalId} ${name}: ${JSON.stringify(v)} is not resolved locally`);
    };
    return Object.fromEntries(Object.entries(f.environment).map(([k, v]) => [k, resolve(k, v)]));
  }

  private tmpFor(logicalId: string): string {
    let dir = this.tmpDirs.get(logicalId);
    if (!dir) {
      dir = mkdtempSync(join(tmpdir(), `lambda-tmp-${logicalId.slice(0, 20)}-`));
      if (this.asUser !== undefined) chownSync(dir, this.asUser, this.asUser);
      this.tmpDirs.set(logicalId, dir);
    }
    return dir;
  }

  /** One synchronous invoke (RequestResponse), as a Step Functions Task makes it. */
  async invoke(logicalId: string, event: Json): Promise<Invocation> {
    const f = this.fn(logicalId);
    const n = (this.counts.get(logicalId) ?? 0) + 1;
    this.counts.set(logicalId, n);
    const fault = this.faults.get(logicalId)?.(n);
    const requestId = randomUUID();
    const inv: Invocation = { logicalId, requestId, event: structuredClone(event), output: '', ms: 0 };
    this.invocations.push(inv);
    const started = performance.now();
    if (fault && 'service' in fault) {
      inv.ok = false;
      inv.error = { errorType: fault.service, errorMessage: fault.message ?? `${fault.service}: injected by the test (the Lambda service refused the invoke)` };
      return inv;
    }
    const timeoutSeconds = fault && 'timeoutSeconds' in fault ? fault.timeoutSeconds : f.timeoutSeconds;
    const tmp = this.tmpFor(logicalId);
    const region = this.opts.region ?? 'us-east-1';
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      TZ: 'UTC',
      HOME: tmp,
      TMPDIR: tmp,
      LAMBDA_TASK_ROOT: f.assetDir,
      AWS_LAMBDA_FUNCTION_NAME: logicalId,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(f.memoryMb),
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: this.opts.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: this.opts.credentials.secretAccessKey,
      // No shared config or credentials files, no instance metadata: only what is set here.
      AWS_CONFIG_FILE: join(tmp, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(tmp, 'no-aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      // s3rver knows nothing of the flexible checksums newer SDKs add by default.
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      ...this.opts.endpoints,
      ...this.environment(f),
      ...(fault && 'env' in fault ? fault.env : {}),
      LAMBDA_DEADLINE_MS: String(Date.now() + timeoutSeconds * 1000),
    };
    const child = fork(join(this.runtimeDir, 'lambdaChild.mjs'), [], {
      cwd: f.assetDir,
      env,
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      ...(this.asUser !== undefined ? { uid: this.asUser, gid: this.asUser } : {}),
    });
    const set = this.running.get(logicalId) ?? new Set<ChildProcess>();
    set.add(child);
    this.running.set(logicalId, set);
    const keep = (c: Buffer) => {
      inv.output = (inv.output + c.toString('utf8')).slice(-64_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);

    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutSeconds * 1000);
    const killer = fault && 'killAfterMs' in fault ? setTimeout(() => child.kill('SIGKILL'), fault.killAfterMs) : undefined;

    const reply = await new Promise<{ ok: boolean; result?: Json } & Partial<LambdaError> | { exit: { code: number | null; signal: NodeJS.Signals | null } }>((resolvePromise) => {
      let answer: ({ ok: boolean; result?: Json } & Partial<LambdaError>) | undefined;
      child.on('message', (m) => (answer = m as typeof answer));
      child.on('exit', (code, signal) => resolvePromise(answer ?? { exit: { code, signal } }));
      child.on('error', () => undefined);
      child.send({ handler: f.handler, event, requestId });
    });
    clearTimeout(timer);
    if (killer) clearTimeout(killer);
    set.delete(child);
    inv.ms = performance.now() - started;

    if ('exit' in reply) {
      inv.ok = false;
      const { code, signal } = reply.exit;
      inv.error = timedOut
        ? { errorType: 'Sandbox.Timedout', errorMessage: `RequestId: ${requestId} Error: Task timed out after ${timeoutSeconds.toFixed(2)} seconds` }
        : { errorType: 'Runtime.ExitError', errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: ${signal ? `signal: ${signal === 'SIGKILL' ? 'killed' : signal}` : `exit status ${code}`}` };
    } else if (reply.ok) {
      inv.ok = true;
      inv.result = reply.result ?? null;
    } else {
      inv.ok = false;
      inv.error = { errorType: reply.errorType ?? 'Error', errorMessage: reply.errorMessage ?? '', trace: reply.trace };
    }
    return inv;
  }

  /** Kills every running process (of an execution left behind by a test that timed out). */
  killAll(): void {
    for (const id of this.running.keys()) this.kill(id);
  }

  /** Kills what still runs and removes the temporary folders (the code is left to its owner). */
  close(): void {
    for (const set of this.running.values()) for (const p of set) p.kill('SIGKILL');
    for (const dir of this.tmpDirs.values()) rmSync(dir, { recursive: true, force: true });
    rmSync(this.runtimeDir, { recursive: true, force: true });
  }
}

