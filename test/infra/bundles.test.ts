/**
 * The functions as `cdk deploy` would upload them: the app is synthesized with bundling (the real
 * esbuild bundles, with DuckDB and Chromium copied in) into a temporary folder, and each Lambda
 * function's code asset must stay within Lambda's deployment limit of 250 MB unzipped (code and
 * layers together; these functions have no layers). The sizes are printed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT } from './support/synth.js';

/** Lambda's quota for a function's unzipped deployment package (code plus layers). */
const LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024;

const out = mkdtempSync(join(tmpdir(), 'cdk-out-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function folderBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? folderBytes(p) : e.isFile() ? statSync(p).size : 0;
  }
  return total;
}

it('every function bundle is within Lambda\'s 250 MB unzipped limit (sizes printed)', () => {
  // Act: the same synth as `npm run synth`, bundles included.
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk'), 'synth', '--quiet', '--output', out], { cwd: ROOT, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);

  // Assess
  const templateFile = readdirSync(out).find((f) => f.endsWith('.template.json'))!;
  const resources = (JSON.parse(readFileSync(join(out, templateFile), 'utf8')) as { Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: unknown }; Layers?: unknown } }> }).Resources;
  const functions = Object.entries(resources).filter(([, res]) => res.Type === 'AWS::Lambda::Function' && typeof res.Properties.Code?.S3Key === 'string');
  const sizes = functions.map(([id, res]) => {
    const asset = join(out, `asset.${String(res.Properties.Code!.S3Key).replace(/\.zip$/, '')}`);
    return { id, layers: res.Properties.Layers, mb: folderBytes(asset) / 1024 / 1024 };
  });
  process.stdout.write(`function bundles (unzipped): ${sizes.map((s) => `${s.id.replace(/[0-9A-F]{8}$/, '')} ${s.mb.toFixed(1)} MB`).join(', ')}\n`);
  // The five functions of the stack (the bucket-notification helper of CDK is inline code).
  expect(sizes.map((s) => s.id.replace(/Function[0-9A-F]{8}$/, '')).sort()).toEqual(['Deliver', 'Ingest', 'Query', 'Render', 'ResolvePeriod']);
  for (const s of sizes) {
    expect(s.layers, `${s.id} has no layers`).toBeUndefined();
    expect(s.mb * 1024 * 1024, `${s.id}: ${s.mb.toFixed(1)} MB`).toBeLessThan(LAMBDA_UNZIPPED_LIMIT);
    expect(s.mb, `${s.id} holds a real bundle`).toBeGreaterThan(1);
  }
}, 180_000);
