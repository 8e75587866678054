/**
 * npm run generate -- --out DIR [--end YYYY-MM] [--months N] [--rows N] [--scale X]
 *                     [--format csv|csv.gz|parquet] [--seed N]
 *
 * Writes deterministic sample CRM exports (the six tables of the data contract) into DIR and prints
 * one line with the rows per table. --rows sets the total row count (e.g. 10000000 for benchmarks).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { type SampleFormat, generateSampleData } from '../sample/generate.js';
import { TABLES } from '../pipeline/contract.js';

/** Runs at or above this many rows get a progress bar. */
const BAR_FROM_ROWS = 250_000;

const integer = (min: number) => (v: string) => {
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
  return n;
};
const positive = (v: string) => {
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError('expected a positive number');
  return n;
};

const program = new Command('generate')
  .description('Write deterministic sample CRM exports for the six canonical tables')
  .requiredOption('--out <dir>', 'output folder (<dir>/<table>/dt=YYYY-MM-DD/part-NNN.csv)')
  .option('--end <YYYY-MM>', 'last month of history (default: the previous UTC month)')
  .option('--months <n>', 'months of history', integer(1), 15)
  .option('--rows <n>', 'total rows over the six tables, approximately', integer(1))
  .option('--scale <x>', 'multiplier of the default row counts (ignored with --rows)', positive)
  .addOption(new Option('--format <format>', 'file format').choices(['csv', 'csv.gz', 'parquet']).default('csv'))
  .option('--seed <n>', 'random seed', integer(0), 42)
  .parse();

const o = program.opts<{ out: string; end?: string; months: number; rows?: number; scale?: number; format: SampleFormat; seed: number }>();

let bar = null as SingleBar | null;
const started = Date.now();
try {
  const { rows } = await generateSampleData(o.out, {
    endPeriod: o.end,
    months: o.months,
    seed: o.seed,
    scale: o.scale,
    targetRows: o.rows,
    format: o.format,
    onProgress(done, total) {
      if (!bar && total >= BAR_FROM_ROWS) {
        bar = new SingleBar({ stream: process.stderr, format: 'generate [{bar}] {percentage}% | {value}/{total} rows | eta {eta}s', etaBuffer: 50 }, Presets.shades_classic);
        bar.start(total, 0);
      }
      bar?.update(done);
    },
  });
  bar?.stop();
  const total = Object.values(rows).reduce((a, b) => a + b, 0);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(`${TABLES.map((t) => `${t} ${rows[t]}`).join(', ')} (${total} rows, ${o.format}) in ${o.out}, ${seconds} s\n`);
} catch (e) {
  bar?.stop();
  process.stderr.write(`generate: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
