/**
 * Synthesizes the stack for tests, the way `cdk synth` does (context from cdk.json, cdk-nag on),
 * but without bundling the functions' code: that is asset building, not the template under test,
 * and takes a minute.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type PolicyValidationPluginReport } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { PipelineStack } from '../../../infra/pipelineStack.js';
import { loadSettings } from '../../../infra/settings.js';

export const ROOT = join(import.meta.dirname, '..', '..', '..');

export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context;
}

export interface Synthesized {
  stack: PipelineStack;
  template: Template;
  /** cdk-nag AwsSolutions findings that are not acknowledged. */
  nag: PolicyValidationPluginReport;
}

export function synthStack(context: Record<string, unknown> = {}, rootDir = ROOT): Synthesized {
  const app = new App({ context: { ...cdkJsonContext(), ...context, 'aws:cdk:bundling-stacks': [] } });
  const settings = loadSettings((k) => app.node.tryGetContext(k), rootDir);
  const stack = new PipelineStack(app, 'TestStack', { settings });
  const template = Template.fromStack(stack);
  const nag = new AwsSolutionsChecks(app, { verbose: true }).validateScope(app);
  return { stack, template, nag };
}
