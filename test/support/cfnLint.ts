/**
 * cfn-lint (PyPI) for the infra tests, in a project-local virtual environment under .cache/venv,
 * provisioned by the test run itself on first use (`python3 -m venv`, `pip install cfn-lint==PIN`).
 *
 * - Idempotent: a complete venv carries a stamp naming what was installed; with the stamp
 *   matching the pin, nothing is run but cfn-lint.
 * - Concurrency-safe: a venv is built in its own temporary folder beside the final one and moved
 *   into place with one rename; a run that loses the race drops its copy and uses the winner's.
 *   A half-built venv is never at the final path. (cfn-lint is always run by `<venv>/bin/python`,
 *   which works after the move; the console scripts' shebangs still name the staging folder.)
 * - Without CI, a missing prerequisite (python3, its venv module, pip's download) skips the lint
 *   with one line on stderr. With CI=true every failure fails the run. (As trinoGlobalSetup.ts.)
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** cfn-lint's console script, run by the venv's interpreter (the script's own shebang names the staging folder). */
const CFN_LINT_MAIN = "import sys; from cfnlint.runner import main; sys.argv[0] = 'cfn-lint'; sys.exit(main())";

/** Pinned: a new cfn-lint brings new rules (and new findings); bump on purpose. */
export const CFN_LINT_VERSION = '1.58.0';

const ROOT = join(import.meta.dirname, '..', '..');
const CACHE = join(ROOT, '.cache');
export const VENV = join(CACHE, 'venv');
const STAMP_FILE = 'project-tools.txt';
const STAMP = `cfn-lint==${CFN_LINT_VERSION}\n`;

export class CfnLintSetupError extends Error {
  override name = 'CfnLintSetupError';
}

export function isCi(): boolean {
  const ci = process.env.CI?.toLowerCase();
  return ci !== undefined && ci !== '' && ci !== '0' && ci !== 'false';
}

const python = (venv: string) => join(venv, 'bin', 'python');
const ready = (venv: string) => existsSync(python(venv)) && readText(join(venv, STAMP_FILE)) === STAMP;

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function run(cmd: string, args: string[], what: string, timeoutMs: number): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    throw new CfnLintSetupError(code === 'ENOENT' ? `${cmd} not found on PATH (cfn-lint is provisioned with python3's venv and pip)` : `${what}: ${r.error.message}`);
  }
  if (r.status !== 0) {
    const tail = `${r.stderr}${r.stdout}`.trim().split('\n').slice(-3).join(' | ');
    throw new CfnLintSetupError(`${what} failed (exit ${r.status}): ${tail}`);
  }
}

export interface Provisioned {
  /** The venv's interpreter (runCfnLint runs cfn-lint with it). */
  python: string;
  /** Whether this call built the venv (false: it was there). */
  built: boolean;
  ms: number;
}

/** The venv with cfn-lint at the pinned version, building it if needed. Throws CfnLintSetupError. */
export function ensureCfnLint(): Provisioned {
  const started = Date.now();
  if (ready(VENV)) return { python: python(VENV), built: false, ms: Date.now() - started };

  mkdirSync(CACHE, { recursive: true });
  const staging = join(CACHE, `venv.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    run('python3', ['-m', 'venv', staging], 'python3 -m venv (on Debian/Ubuntu: apt-get install python3-venv)', 120_000);
    run(
      python(staging),
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input', `cfn-lint==${CFN_LINT_VERSION}`],
      `pip install cfn-lint==${CFN_LINT_VERSION}`,
      600_000,
    );
    writeFileSync(join(staging, STAMP_FILE), STAMP);
    if (existsSync(VENV) && !ready(VENV)) {
      // An older pin (or a foreign folder): move it aside in one step, then delete it.
      const old = join(CACHE, `venv.old-${process.pid}-${randomBytes(4).toString('hex')}`);
      try {
        renameSync(VENV, old);
        rmSync(old, { recursive: true, force: true });
      } catch {
        // another run moved it first
      }
    }
    try {
      renameSync(staging, VENV);
    } catch (e) {
      // ENOTEMPTY/EEXIST: another run put its venv in place first; use that one.
      if (!ready(VENV)) throw new CfnLintSetupError(`could not move the new venv into ${VENV}: ${(e as Error).message}`);
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  if (!ready(VENV)) throw new CfnLintSetupError(`${VENV} is incomplete after provisioning`);
  return { python: python(VENV), built: true, ms: Date.now() - started };
}

/** ensureCfnLint, or (without CI, on a setup failure) a reason to skip, already written to stderr. */
export function cfnLintOrSkip(): Provisioned | { skip: string } {
  try {
    return ensureCfnLint();
  } catch (e) {
    if (!isCi() && e instanceof CfnLintSetupError) {
      process.stderr.write(`cfn-lint skipped: ${e.message}\n`);
      return { skip: e.message };
    }
    throw e;
  }
}

export interface CfnLintMatch {
  Level: 'Error' | 'Warning' | 'Informational';
  Rule: { Id: string; Description: string };
  Message: string;
  Location: { Path?: (string | number)[]; Start?: { LineNumber: number } };
  Filename: string;
}

export interface CfnLintResult {
  errors: CfnLintMatch[];
  warnings: CfnLintMatch[];
  informational: CfnLintMatch[];
  /** One line per finding, for messages. */
  lines: string[];
}

/**
 * Runs cfn-lint on a template (as JSON written to a temporary file). `ignoreChecks` are rule ids
 * passed as --ignore-checks; each must come with its reason where it is called.
 */
export function runCfnLint(
  p: Pick<Provisioned, 'python'>,
  template: unknown,
  opts: { regions?: string[]; ignoreChecks?: string[] } = {},
): CfnLintResult {
  const dir = mkdtempSync(join(tmpdir(), 'cfn-lint-'));
  try {
    const file = join(dir, 'template.json');
    writeFileSync(file, JSON.stringify(template, null, 1));
    const args = ['-c', CFN_LINT_MAIN, '--format', 'json', '--regions', ...(opts.regions ?? ['us-east-1'])];
    if (opts.ignoreChecks?.length) args.push('--ignore-checks', ...opts.ignoreChecks);
    args.push('--', file);
    const r = spawnSync(p.python, args, { encoding: 'utf8', timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
    if (r.error) throw r.error;
    // Exit status is a bit mask of what was found (2 error, 4 warning, 8 informational); 1 is a crash.
    if (r.status === null || (r.status & 1) === 1 || r.stdout.trim() === '') {
      throw new Error(`cfn-lint did not run (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`);
    }
    const matches = JSON.parse(r.stdout) as CfnLintMatch[];
    const by = (level: CfnLintMatch['Level']) => matches.filter((m) => m.Level === level);
    return {
      errors: by('Error'),
      warnings: by('Warning'),
      informational: by('Informational'),
      lines: matches.map((m) => `${m.Level} ${m.Rule.Id} ${(m.Location.Path ?? []).join('/')}: ${m.Message}`),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
