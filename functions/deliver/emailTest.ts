/**
 * A test send: one copy of the report e-mail, marked as a test in the subject and by a banner in
 * the report's language, to one address only. It claims nothing and archives nothing: the
 * delivery record, the archive and the report's recipients are left as they were, so a later real
 * send still goes to everyone, once.
 */
import { z } from 'zod';
import { composeReportMessage, emailMessages, workbookKeyOf } from './compose.js';
import { assertCompleteReport, type ReportIdentity, type ReportParts } from './deliver.js';
import { DeliverySendError, ReportIncompleteError } from './errors.js';
import { reportKeys } from './keys.js';
import type { MailTransport } from './transport.js';

export interface TestSendInput {
  transport: MailTransport;
  /** The report (its recipients are not written to). */
  report: ReportIdentity;
  period: string;
  /** The run's PDF and metrics.json (and workbook), checked to belong together by the caller. */
  parts: ReportParts;
  from: string;
  /** The one address the test copy goes to. */
  to: string;
  attachLimitBytes: number;
  /** The report's templates folder (its locale files override the words, as for the PDF). */
  templatesDir?: string;
  /** A link to the run's own copy of a file too large to attach (the archive is not touched). */
  link: (file: 'pdf' | 'workbook') => Promise<string>;
}

export interface TestSendResult {
  to: string;
  subject: string;
  messageId: string;
  providerId: string;
}

export class TestAddressError extends Error {
  override name = 'TestAddressError';
}

/** Checks a test address: one e-mail address (not a list). */
export function assertTestAddress(address: string): string {
  const a = address.trim();
  if (!z.email().safeParse(a).success) throw new TestAddressError(`the test address must be one e-mail address, got "${address}"`);
  return a;
}

/** Sends one test copy of the report to `to`; nothing is claimed, archived or recorded. */
export async function sendTestCopy(input: TestSendInput): Promise<TestSendResult> {
  const to = assertTestAddress(input.to);
  const { report, period } = input;
  const keys = reportKeys(report.id, period);
  const metrics = assertCompleteReport(report.id, period, input.parts.pdf, input.parts.metrics);
  let messages;
  try {
    messages = emailMessages(metrics.locale, input.templatesDir);
  } catch (e) {
    throw new ReportIncompleteError(`report ${report.id} ${period}: ${(e as Error).message}`, { cause: e });
  }
  const { recipients: _recipients, ...def } = report;
  const workbook = input.parts.workbook;
  const message = await composeReportMessage({
    from: input.from,
    to: [to],
    report: def,
    period,
    metrics,
    messages,
    pdf: input.parts.pdf,
    pdfName: keys.pdfName,
    ...(workbook ? { workbook: { bytes: workbook, name: workbookKeyOf(keys.pdfName), link: () => input.link('workbook') } } : {}),
    attachLimitBytes: input.attachLimitBytes,
    link: () => input.link('pdf'),
    test: { address: to },
  });
  let result: Awaited<ReturnType<MailTransport['send']>>;
  try {
    result = await input.transport.send(message.raw, { from: input.from, to: [to] }, `${report.id}-${period}-test`);
  } catch (e) {
    throw new DeliverySendError(`test copy of ${report.id} ${period} to ${to}: ${(e as Error).message}`, { cause: e });
  }
  const refused = result.refused.find((r) => r.address.toLowerCase() === to.toLowerCase());
  if (refused || !result.accepted.some((a) => a.toLowerCase() === to.toLowerCase())) {
    throw new DeliverySendError(`test copy of ${report.id} ${period}: ${to} was refused (${refused?.reply ?? 'not accepted'})`);
  }
  return { to, subject: message.subject, messageId: message.messageId, providerId: result.providerId };
}
