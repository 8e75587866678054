/**
 * The CDK app: reads and validates the settings (context + config files), wires the one stack,
 * and runs the cdk-nag AwsSolutions checks on it. Env-agnostic: synthesizes with no account.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { PipelineStack } from './pipelineStack.js';
import { loadSettings } from './settings.js';

const rootDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const app = new App();
const settings = loadSettings((key) => app.node.tryGetContext(key), rootDir);
new PipelineStack(app, app.node.tryGetContext('stackName') ?? 'CrmServiceReport', {
  settings,
  description: 'CRM exports -> monthly customer-service PDF report (Athena, Step Functions, SES)',
});
// Any unacknowledged finding fails the synth (acknowledgements, with reasons: nagSuppressions.ts).
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
