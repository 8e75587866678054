/**
 * npm run trino -- start [--port N] [--timeout S] | stop | status
 * A local single-node Trino (with a `hive` catalog over .cache/trino/warehouse) for development and tests.
 */
import { Command } from 'commander';
import { localTrinoHome, localTrinoStatus, startLocalTrino, stopLocalTrino, TRINO_VERSION } from '../trino/localServer.js';
import { runCli } from './runMetrics.js';

const err = (line: string) => process.stderr.write(`${line}\n`);

const program = new Command('trino')
  .description(`Download, start, stop and report on a local Trino ${TRINO_VERSION} (files under ${localTrinoHome()})`)
  .addHelpText(
    'after',
    `
Needs Java 24+ (TRINO_JAVA_HOME, JAVA_HOME, PATH or /usr/lib/jvm/*) and, for the first download, Maven (mvn).
Exit codes: 0 ok; 1 setup or start failure (the reason on stderr); 3 "status" when no server is running.`,
  );

program
  .command('start')
  .description('start the server (a no-op when it already runs); prints its URL on stdout, progress on stderr')
  .option('--port <n>', 'HTTP port (default: env TRINO_PORT, else a free port)', (v) => Number(v))
  .option('--timeout <seconds>', 'how long to wait for the server to answer', (v) => Number(v), 120)
  .action(async (o: { port?: number; timeout: number }) => {
    await runCli(async () => {
      const t = await startLocalTrino({ port: o.port, timeoutMs: o.timeout * 1000, log: err });
      process.stdout.write(`${t.url}\n`);
    });
  });

program
  .command('stop')
  .description('stop the server this project started (by its recorded PID)')
  .action(async () => {
    await runCli(async () => {
      err((await stopLocalTrino()) ? 'Trino stopped' : 'Trino was not running');
    });
  });

program
  .command('status')
  .description('print "running <url> pid <pid> ..." (exit 0) or "not running" (exit 3)')
  .action(async () => {
    await runCli(async () => {
      const t = await localTrinoStatus();
      if (t) {
        process.stdout.write(`running ${t.url} pid ${t.pid} (Trino ${t.version}, catalog ${t.catalog}, warehouse ${t.warehouseDir})\n`);
      } else {
        process.stdout.write('not running\n');
        process.exitCode = 3;
      }
    });
  });

await program.parseAsync();
