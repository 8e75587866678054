/**
 * npm run deliver -- [--report ID --period YYYY-MM [--locale L] --out DIR | --pdf FILE --metrics FILE [--run FILE]]
 *                    [--archive DIR] [--outbox DIR | --smtp smtp://host:port] [--from ADDR] [--to A,B]
 *                    [--force] [--attach-limit BYTES] [--templates DIR] [--test-to ADDRESS]
 *
 * The archive-and-deliver step, locally: takes `<out>/<id>-<period>.<locale>.pdf` and
 * `.metrics.json` (npm run report's output), checks with `.run.json` beside them that both are of
 * one run, then claims the delivery, stores them under <archive>/reports/<id>/<period>/ and writes
 * the message as .eml to an outbox folder (default) or sends it through an SMTP server. A report
 * already delivered changes nothing in the archive. Like on AWS, a report and period is mailed once unless
 * --force; after a partial delivery a re-run sends only to the recipients who did not get it.
 * The workbook `.xlsx` beside the PDF, when the run record names it, is archived and mailed with it.
 *
 * --test-to ADDRESS sends one copy marked as a test (subject prefix and banner, in the report's
 * language) to that address only: nothing is claimed, archived or recorded, so a later real send
 * still goes to every recipient once.
 *
 * Exit codes:
 *   0  sent, already delivered, or no recipients
 *   2  usage error, incomplete report, a PDF and metrics.json of different runs, or the mail server
 *      refused the message (nothing sent)
 *   3  in doubt: the message may have been sent; check, then re-run with --force
 *   4  partially delivered: some recipients were refused (printed, and recorded in delivery.json);
 *      a re-run sends only to the recipients who did not get it
 */
import { parseMetricsJsonText } from '../metrics/schema.js';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';

/** Bad command-line input, reported as one line with exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
import { LocalArchive } from '../deliver/archive.js';
import { assertCompleteReport, assertSameRun, deliverReport, runNamesWorkbook } from '../deliver/deliver.js';
import { LOCALES } from '../pipeline/reportsConfig.js';
import { outputBase } from './runMetrics.js';
import { OutboxTransport, SmtpTransport, type MailTransport } from '../deliver/transport.js';
import { loadReports } from '../metrics/config.js';
import { burstRecipients, scopedTitles } from '../render/burst.js';
import { deliverBursts, worstExit } from './bursts.js';
import { MAIL_LIMITS, workbookKeyOf } from '../deliver/compose.js';
import { sendTestCopy } from '../deliver/emailTest.js';
import { templatesDirFor } from '../render/messages.js';

interface Options {
  report?: string;
  period?: string;
  out: string;
  locale?: string;
  pdf?: string;
  metrics?: string;
  run?: string;
  archive: string;
  outbox: string;
  smtp?: string;
  from: string;
  to?: string;
  force: boolean;
  attachLimit: string;
  config: string;
  templates?: string;
  testTo?: string;
}

function readOrFail(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UsageError(`cannot read the ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('deliver')
    .description('Archive a rendered report and e-mail it once (.eml outbox or SMTP).')
    .option('--report <id>', 'report id (default: from metrics.json)')
    .option('--period <YYYY-MM>', 'period (default: from metrics.json)')
    .option('--locale <locale>', `language of the report to send, ${LOCALES.join('|')} (default: the report's)`)
    .option('--out <dir>', 'folder holding <id>-<period>.<locale>.pdf, .metrics.json, .xlsx and .run.json (npm run report output)', 'out')
    .option('--pdf <file>', 'the PDF (default: <out>/<id>-<period>.<locale>.pdf)')
    .option('--metrics <file>', 'metrics.json (default: <out>/<id>-<period>.<locale>.metrics.json)')
    .option('--run <file>', 'the run record naming both files (default: the PDF name with .run.json)')
    .option('--archive <dir>', 'archive folder', join('out', 'archive'))
    .option('--outbox <dir>', 'write the message as .eml here', join('out', 'outbox'))
    .option('--smtp <url>', 'send through this SMTP server instead (smtp://host:port)')
    .option('--from <address>', 'sender', 'Service reports <reports@localhost>')
    .option('--to <addresses>', 'comma-separated recipients (default: the report definition)')
    .option('--force', 'send even if this report and period was already delivered', false)
    .option('--attach-limit <bytes>', 'largest encoded attachments (the PDF, then the workbook); what does not fit is linked', String(MAIL_LIMITS.attachLimitBytes))
    .option('--config <dir>', 'config folder', 'config')
    .option('--templates <dir>', "templates folder whose locales/ override the mail's words, as for the PDF (default: the report's)")
    .option('--test-to <address>', 'send one copy marked as a test to this address only; nothing is archived or recorded')
    .addHelpText(
      'after',
      [
        '',
        'Exit codes:',
        '  0  sent, already delivered, or no recipients',
        '  2  usage error, incomplete report, PDF and metrics.json of different runs, or the mail server refused the message (nothing sent)',
        '  3  in doubt: the message may have been sent; check, then re-run with --force',
        '  4  partially delivered: some recipients were refused (see delivery.json); a re-run sends only to them',
      ].join('\n'),
    )
    .exitOverride();
  program.parse(argv, { from: 'user' });
  const o = program.opts<Options>();

  if (!o.pdf || !o.metrics) {
    if (!o.report || !o.period) throw new UsageError('give --pdf and --metrics, or --report and --period (with --out)');
  }
  if (o.locale && !(LOCALES as readonly string[]).includes(o.locale)) throw new UsageError(`--locale must be one of ${LOCALES.join(', ')}, got ${o.locale}`);
  const reports = loadReports(join(o.config, 'reports.yaml')).reports;
  let base = '';
  if (o.report && o.period) {
    const named = reports.find((r) => r.id === o.report);
    if (!named) throw new UsageError(`no report "${o.report}" in ${o.config}/reports.yaml`);
    base = outputBase(o.out, o.report, o.period, o.locale ?? named.locale);
  }
  const pdfFile = o.pdf ?? `${base}.pdf`;
  const metricsFile = o.metrics ?? `${base}.metrics.json`;
  const runFile = o.run ?? (o.pdf ? o.pdf.replace(/(\.pdf)?$/i, '.run.json') : `${base}.run.json`);
  const workbookFile = workbookKeyOf(pdfFile);
  const metricsBytes = readOrFail(metricsFile, 'metrics file');
  const pdf = new Uint8Array(readOrFail(pdfFile, 'PDF'));
  const m = parseMetricsJsonText(metricsBytes.toString('utf8'), metricsFile);
  const reportId = o.report ?? m.reportId ?? '';
  const period = o.period ?? m.period?.id ?? '';
  assertCompleteReport(reportId, period, pdf, metricsBytes);
  if (o.locale && m.locale !== o.locale) throw new UsageError(`${metricsFile} is a ${m.locale} report, not ${o.locale}`);
  if (!existsSync(runFile)) {
    throw new UsageError(`no run record ${runFile}: cannot tell whether the PDF and metrics.json are of one run; produce them with \`npm run report\` (or give --run)`);
  }
  const runText = readOrFail(runFile, 'run record').toString('utf8');
  // The workbook travels with the PDF when the run that wrote the PDF wrote it too.
  const workbook = runNamesWorkbook(runText) ? new Uint8Array(readOrFail(workbookFile, 'workbook')) : undefined;
  const run = assertSameRun(runText, pdf, metricsBytes, runFile, workbook);

  const def = reports.find((r) => r.id === reportId);
  if (!def) throw new UsageError(`no report "${reportId}" in ${o.config}/reports.yaml`);
  const to = o.to ? o.to.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  // A burst report's own files (--pdf): its team's or channel's recipients (functions/render/burst.ts).
  if (m.scope && def.burst?.by !== m.scope.kind) throw new UsageError(`${metricsFile} is the ${m.scope.kind} "${m.scope.value}" report, but report ${def.id} does not burst by ${m.scope.kind}`);
  const recipients = to ?? (m.scope && def.burst ? burstRecipients(def.burst, m.scope.value) : def.recipients);
  const attachLimitBytes = Number(o.attachLimit);
  if (!Number.isInteger(attachLimitBytes) || attachLimitBytes < 0) throw new UsageError(`--attach-limit must be a number of bytes, got ${o.attachLimit}`);

  const templatesDir = o.templates ? resolve(o.templates) : templatesDirFor(def);
  const transport: MailTransport = o.smtp ? new SmtpTransport(o.smtp) : new OutboxTransport(o.outbox);
  const parts = { pdf, metrics: metricsBytes, ...(workbook ? { workbook } : {}) };
  if (o.testTo !== undefined) {
    const sent = await sendTestCopy({
      transport,
      report: { ...def, recipients },
      period,
      parts,
      from: o.from,
      to: o.testTo,
      attachLimitBytes,
      templatesDir,
      link: async (file) => pathToFileURL(resolve(file === 'pdf' ? pdfFile : workbookFile)).href,
    });
    console.log(`test copy sent to ${sent.to} via ${transport.kind}: ${sent.providerId} (nothing archived or recorded)`);
    return 0;
  }
  const archive = new LocalArchive(o.archive);
  // A report with `burst`: each team's or channel's report on its own (cli/bursts.ts); one that fails stops neither the others nor the company's.
  const burstCode =
    def.burst && !o.pdf && !m.scope
      ? await deliverBursts({ archive, transport, company: m, report: def, out: o.out, to, runId: run.runId, templatesDir, from: o.from, attachLimitBytes, linkExpiresSeconds: MAIL_LIMITS.linkExpiresSeconds, force: o.force, log: (l) => console.log(l), warn: (l) => console.error(`deliver: ${l}`) })
      : 0;
  const outcome = await deliverReport({
    archive,
    transport,
    report: { ...(m.scope ? scopedTitles(def, m.scope) : def), recipients },
    scope: m.scope,
    period,
    parts,
    templatesDir,
    from: o.from,
    attachLimitBytes,
    linkExpiresSeconds: MAIL_LIMITS.linkExpiresSeconds,
    force: o.force,
    // The run that made the PDF and metrics.json: it names them in the archive and the record.
    runId: run.runId,
  });
  const keys = outcome.keys;
  if (outcome.status === 'partial') {
    const accepted = outcome.sentTo.filter((a) => !outcome.refused.some((r) => r.address === a));
    console.log(`partially delivered via ${transport.kind}: sent to ${accepted.join(', ') || 'nobody'}`);
    console.error(`deliver: refused: ${outcome.refused.map((r) => `${r.address} (${r.reply ?? 'refused'})`).join(', ')}`);
    console.error(`deliver: recorded in ${join(archive.location, keys.delivery)}; a re-run sends only to the refused recipients`);
    return worstExit(4, burstCode);
  }
  if (outcome.status === 'sent') {
    console.log(`archived: ${join(archive.location, keys.pdf)} (run ${run.runId})`);
    console.log(`sent to ${outcome.sentTo.join(', ')} via ${transport.kind}: ${outcome.record.providerId}${outcome.record.attached ? '' : ' (PDF linked, not attached)'}`);
  } else if (outcome.status === 'already_sent') {
    console.log(`not sent: ${reportId} ${period} was already delivered at ${outcome.record.sentAt} (use --force to send again)`);
  } else {
    console.log(`not sent: ${reportId} has no recipients (config/reports.yaml or --to)`);
  }
  return burstCode;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error & { code?: string }) => {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') process.exit(0);
      if (!e.code?.startsWith('commander.')) console.error(`deliver: ${e.message}`);
      process.exit(e.name === 'DeliveryInDoubtError' ? 3 : 2);
    },
  );
}
