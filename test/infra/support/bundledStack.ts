/**
 * The stack as `cdk deploy` would upload it: `cdk synth` with bundling (the real esbuild bundles,
 * DuckDB and Chromium copied in) into a temporary cdk.out, once per test process, and each Lambda
 * function of the template with what it is deployed with: its asset folder in that cdk.out, its
 * Handler, Timeout, MemorySize and Environment (intrinsics left as the template has them).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './synth.js';

export interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
}
export interface BundledTemplate {
  Resources: Record<string, TemplateResource>;
}

export interface BundledFunction {
  logicalId: string;
  /** `<file without extension>.<export>`, relative to the code folder (Lambda's /var/task). */
  handler: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** Environment.Variables as in the template (values may be intrinsics such as { Ref }). */
  environment: Record<string, unknown>;
  /** The function's code: its asset folder in cdk.out. */
  assetDir: string;
}

export interface BundledStack {
  outDir: string;
  template: BundledTemplate;
  /** Every AWS::Lambda::Function whose code is a cdk.out asset, by logical id. */
  functions: Record<string, BundledFunction>;
  /** Seconds `cdk synth` took (bundling included). */
  synthSeconds: number;
}

let cached: BundledStack | undefined;

/**
 * Runs `cdk synth` (as `npm run synth` does) into a temporary folder the first time it is called
 * in this process; later calls return the same result. `removeBundledStack` deletes the folder.
 */
export function bundledStack(): BundledStack {
  if (cached) return cached;
  const outDir = mkdtempSync(join(tmpdir(), 'cdk-out-'));
  const started = performance.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk'), 'synth', '--quiet', '--output', outDir], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(outDir, { recursive: true, force: true });
    throw new Error(`cdk synth failed (exit ${r.status}): ${r.stderr}`);
  }
  const synthSeconds = (performance.now() - started) / 1000;
  const templateFile = readdirSync(outDir).find((f) => f.endsWith('.template.json'));
  if (!templateFile) throw new Error(`cdk synth wrote no template into ${outDir}`);
  const template = JSON.parse(readFileSync(join(outDir, templateFile), 'utf8')) as BundledTemplate;
  const functions: Record<string, BundledFunction> = {};
  for (const [logicalId, res] of Object.entries(template.Resources)) {
    if (res.Type !== 'AWS::Lambda::Function') continue;
    const p = res.Properties ?? {};
    const key = (p['Code'] as { S3Key?: unknown } | undefined)?.S3Key;
    if (typeof key !== 'string') continue; // inline code (CDK's bucket-notification helper)
    functions[logicalId] = {
      logicalId,
      handler: String(p['Handler']),
      // Lambda's defaults when the template leaves them out.
      timeoutSeconds: Number(p['Timeout'] ?? 3),
      memoryMb: Number(p['MemorySize'] ?? 128),
      environment: ((p['Environment'] as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}),
      assetDir: join(outDir, `asset.${key.replace(/\.zip$/, '')}`),
    };
  }
  cached = { outDir, template, functions, synthSeconds };
  return cached;
}

/** Deletes the synthesized cdk.out (made writable again first: tests may have locked the code). */
export function removeBundledStack(): void {
  if (!cached) return;
  const dir = cached.outDir;
  cached = undefined;
  spawnSync('chmod', ['-R', 'u+w', dir]);
  chmodSync(dir, 0o700);
  rmSync(dir, { recursive: true, force: true });
}
