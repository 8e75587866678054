/** Config and context are validated at synth: a bad file or value fails, naming the problem. */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterEach, describe, expect, it } from 'vitest';
import { PipelineStack } from '../../infra/pipelineStack.js';
import { loadSettings } from '../../infra/settings.js';
import { cdkJsonContext, ROOT } from './support/synth.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A copy of the project's config and templates to break. */
function projectCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'settings-'));
  dirs.push(dir);
  cpSync(join(ROOT, 'config'), join(dir, 'config'), { recursive: true });
  cpSync(join(ROOT, 'templates'), join(dir, 'templates'), { recursive: true });
  return dir;
}

const ctx = (over: Record<string, unknown> = {}) => {
  const c = { ...cdkJsonContext(), ...over };
  return (k: string) => c[k];
};

describe('settings', () => {
  it('accepts the shipped configuration and cdk.json context', () => {
    const s = loadSettings(ctx(), ROOT);
    expect(s.reports.reports.length).toBeGreaterThan(0);
    expect(s.bytesScannedCutoffPerQuery).toBe(10737418240);
  });

  it('fails naming every problem: file, path and what is wrong', () => {
    const dir = projectCopy();
    writeFileSync(
      join(dir, 'config', 'reports.yaml'),
      'reports:\n  - id: Bad Id\n    title: x\n    timezone: Mars/Olympus\n    recipients: [not-an-address]\n',
    );
    let message = '';
    try {
      loadSettings(ctx({ bytesScannedCutoffPerQuery: 1000, logRetentionDays: 42 }), dir);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/config\/reports\.yaml: reports\.0\.id/);
    expect(message).toMatch(/reports\.0\.timezone: unknown IANA time zone/);
    expect(message).toMatch(/reports\.0\.recipients\.0/);
    expect(message).toMatch(/context bytesScannedCutoffPerQuery: at least 10485760/);
    expect(message).toMatch(/context logRetentionDays/);
  });

  it('fails on an invalid targets file and on a missing template folder', () => {
    const dir = projectCopy();
    writeFileSync(join(dir, 'config', 'targets.yaml'), 'min_sample: -3\n');
    rmSync(join(dir, 'templates', 'default'), { recursive: true });
    expect(() => loadSettings(ctx(), dir)).toThrow(/config\/targets\.yaml[\s\S]*templates\/default: folder not found/);
  });

  it('fails on a misspelt field in a template, with its file and line, as npm run validate does', () => {
    // Prepare: the cover's period label misspelt
    const dir = projectCopy();
    const cover = join(dir, 'templates', 'default', 'partials', 'cover.hbs');
    const lines = readFileSync(cover, 'utf8').split('\n');
    const at = lines.findIndex((l) => l.includes('{{period.label}}'));
    expect(at).toBeGreaterThanOrEqual(0);
    lines[at] = lines[at]!.replace('{{period.label}}', '{{period.lable}}');
    writeFileSync(cover, lines.join('\n'));
    // Act + Assess
    expect(() => loadSettings(ctx(), dir)).toThrow(`templates/default/partials/cover.hbs:${at + 1}: unknown field "period.lable"`);
  });

  it('fails when the sender is not within the SES identity', () => {
    expect(() => loadSettings(ctx({ sender: 'reports@other.example' }), ROOT)).toThrow(/sesIdentity/);
  });
});

describe('cdk-nag gate', () => {
  it('reports a new wildcard S3 grant as an unacknowledged finding', () => {
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    const stack = new PipelineStack(app, 'NagStack', { settings: loadSettings((k) => app.node.tryGetContext(k), ROOT) });
    stack.functions.render.role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: ['*'] }));
    const report = new AwsSolutionsChecks(app).validateScope(app);
    expect(report.violations.map((v) => v.ruleName)).toContain('AwsSolutions-IAM5[Resource::*]');
  });
});
