/**
 * The functions as `cdk deploy` would upload them: the app is synthesized with bundling (the real
 * esbuild bundles, with DuckDB and Chromium copied in) into a temporary folder, and each Lambda
 * function's code asset must stay within Lambda's deployment limit of 250 MB unzipped (code and
 * layers together; these functions have no layers). The sizes are printed.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { bundledStack, removeBundledStack } from './support/bundledStack.js';

/** Lambda's quota for a function's unzipped deployment package (code plus layers). */
const LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024;

afterAll(() => removeBundledStack());

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
  const { template, functions } = bundledStack();

  // Assess
  const sizes = Object.values(functions).map((f) => ({ id: f.logicalId, layers: template.Resources[f.logicalId]!.Properties!['Layers'], mb: folderBytes(f.assetDir) / 1024 / 1024 }));
  process.stdout.write(`function bundles (unzipped): ${sizes.map((s) => `${s.id.replace(/[0-9A-F]{8}$/, '')} ${s.mb.toFixed(1)} MB`).join(', ')}\n`);
  // The five functions of the stack (the bucket-notification helper of CDK is inline code).
  expect(sizes.map((s) => s.id.replace(/Function[0-9A-F]{8}$/, '')).sort()).toEqual(['Deliver', 'Ingest', 'Query', 'Render', 'ResolvePeriod']);
  for (const s of sizes) {
    expect(s.layers, `${s.id} has no layers`).toBeUndefined();
    expect(s.mb * 1024 * 1024, `${s.id}: ${s.mb.toFixed(1)} MB`).toBeLessThan(LAMBDA_UNZIPPED_LIMIT);
    expect(s.mb, `${s.id} holds a real bundle`).toBeGreaterThan(1);
  }
}, 180_000);
