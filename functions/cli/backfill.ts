/**
 * npm run backfill -- --report ID --from YYYY-MM --to YYYY-MM [--force] [--state-machine ARN]
 *
 * Starts one execution of the deployed report state machine per period, oldest first, with a
 * progress bar and a summary. Each execution archives its report and mails it once (a period
 * already mailed is archived again but not mailed, unless --force).
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SingleBar, Presets } from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';

/** Bad command-line input, reported as one line with exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
import { parsePeriodId, shiftPeriod } from '../pipeline/period.js';
import { loadReports } from '../metrics/config.js';

export interface BackfillOptions {
  sfn: SFNClient;
  stateMachineArn: string;
  reportId: string;
  from: string;
  to: string;
  force?: boolean;
  now?: Date;
  onProgress?: (done: number, total: number, period: string, status: BackfillItem['status']) => void;
}

export interface BackfillItem {
  period: string;
  status: 'started' | 'already_exists' | 'failed';
  executionName: string;
  executionArn?: string;
  error?: string;
}

export interface BackfillSummary {
  items: BackfillItem[];
  started: number;
  alreadyExists: number;
  failed: number;
}

export const MAX_PERIODS = 120;

/** The periods from `from` to `to`, inclusive, oldest first. */
export function periodsBetween(from: string, to: string): string[] {
  const a = parsePeriodId(from);
  const b = parsePeriodId(to);
  const count = (b.year - a.year) * 12 + (b.month - a.month) + 1;
  if (count < 1) throw new UsageError(`--from ${from} is after --to ${to}`);
  if (count > MAX_PERIODS) throw new UsageError(`${count} periods: at most ${MAX_PERIODS} per backfill`);
  return Array.from({ length: count }, (_, i) => shiftPeriod(from, i));
}

/** Execution names: 1-80 of [A-Za-z0-9-_], unique per run (the timestamp), readable in the console. */
export function executionName(reportId: string, period: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const tail = `-${period}-backfill-${stamp}`;
  return `${reportId.slice(0, 80 - tail.length)}${tail}`;
}

export async function runBackfill(o: BackfillOptions): Promise<BackfillSummary> {
  const periods = periodsBetween(o.from, o.to);
  const now = o.now ?? new Date();
  const items: BackfillItem[] = [];
  for (const period of periods) {
    const name = executionName(o.reportId, period, now);
    let item: BackfillItem;
    try {
      const r = await o.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: o.stateMachineArn,
          name,
          input: JSON.stringify({ reportId: o.reportId, period, force: o.force ?? false }),
        }),
      );
      item = { period, status: 'started', executionName: name, executionArn: r.executionArn };
    } catch (e) {
      item =
        e instanceof ExecutionAlreadyExists
          ? { period, status: 'already_exists', executionName: name }
          : { period, status: 'failed', executionName: name, error: `${(e as Error).name}: ${(e as Error).message}` };
    }
    items.push(item);
    o.onProgress?.(items.length, periods.length, period, item.status);
  }
  return {
    items,
    started: items.filter((i) => i.status === 'started').length,
    alreadyExists: items.filter((i) => i.status === 'already_exists').length,
    failed: items.filter((i) => i.status === 'failed').length,
  };
}

function periodArg(v: string): string {
  try {
    parsePeriodId(v);
    return v;
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('backfill')
    .description('Start one report state machine execution per period (oldest first).')
    .requiredOption('--report <id>', 'report id from config/reports.yaml')
    .requiredOption('--from <YYYY-MM>', 'first period', periodArg)
    .requiredOption('--to <YYYY-MM>', 'last period', periodArg)
    .option('--force', 'e-mail again periods that were already delivered', false)
    .option('--state-machine <arn>', 'state machine ARN (default: $REPORT_STATE_MACHINE_ARN; the StateMachineArn stack output)')
    .option('--config <dir>', 'config folder', 'config')
    .exitOverride();
  program.parse(argv, { from: 'user' });
  const opts = program.opts<{ report: string; from: string; to: string; force: boolean; stateMachine?: string; config: string }>();
  const arn = opts.stateMachine ?? process.env.REPORT_STATE_MACHINE_ARN;
  if (!arn) throw new UsageError('no state machine: pass --state-machine ARN or set REPORT_STATE_MACHINE_ARN (stack output StateMachineArn)');
  const reports = loadReports(join(opts.config, 'reports.yaml'));
  if (!reports.reports.some((r) => r.id === opts.report)) {
    throw new UsageError(`no report "${opts.report}" in ${opts.config}/reports.yaml; known: ${reports.reports.map((r) => r.id).join(', ')}`);
  }
  const total = periodsBetween(opts.from, opts.to).length;
  const bar = new SingleBar({ format: 'backfill {bar} {value}/{total} {period} {status}', stream: process.stderr, noTTYOutput: true, notTTYSchedule: 1000 }, Presets.shades_classic);
  bar.start(total, 0, { period: '', status: '' });
  const summary = await runBackfill({
    sfn: new SFNClient({}),
    stateMachineArn: arn,
    reportId: opts.report,
    from: opts.from,
    to: opts.to,
    force: opts.force,
    onProgress: (done, _t, period, status) => bar.update(done, { period, status }),
  });
  bar.stop();
  for (const i of summary.items) {
    console.log(`${i.period}  ${i.status.padEnd(14)} ${i.executionArn ?? i.executionName}${i.error ? `  ${i.error}` : ''}`);
  }
  console.log(`${opts.report}: ${summary.started} started, ${summary.alreadyExists} already existed, ${summary.failed} failed (of ${total}).`);
  return summary.failed ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error & { code?: string }) => {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') process.exit(0);
      if (!e.code?.startsWith('commander.')) console.error(`backfill: ${e.message}`);
      process.exit(2);
    },
  );
}
