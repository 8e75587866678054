/**
 * npm run metrics -- --data DIR --period YYYY-MM --timezone IANA --out DIR [--targets FILE] [--report ID]
 * Writes <out>/<reportId>-<period>.<locale>.metrics.json.
 */
import { Command } from 'commander';
import { addMetricsOptions, runCli, runMetricsJob } from './runMetrics.js';

const program = addMetricsOptions(new Command('metrics').description('Compute the indicators of one report period into metrics.json'));
program.parse();

await runCli(async () => {
  const { metrics, metricsPath } = await runMetricsJob({ ...program.opts(), log: (l) => process.stderr.write(`${l}\n`) });
  const statuses = Object.values(metrics.indicators).reduce<Record<string, number>>((acc, i) => ({ ...acc, [i.status]: (acc[i.status] ?? 0) + 1 }), {});
  process.stdout.write(`${metricsPath}\n`);
  process.stderr.write(`${metrics.period.id} (${metrics.period.timezone}): ${Object.entries(statuses).map(([s, n]) => `${n} ${s}`).join(', ')}\n`);
});
