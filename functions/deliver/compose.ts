/**
 * The report e-mail as raw MIME, built by nodemailer's MailComposer (headers, encodings, line
 * lengths and boundaries are the library's job, not ours): the HTML body and its plain-text part
 * (./email.ts), the PDF and the Excel workbook attached while their encoded size fits the
 * configured limit, otherwise linked to their archived copies. The words are the PDF's: the
 * messages the report was rendered with (templates/locales, overridden by the report's templates
 * folder), passed in by the caller.
 */
import { randomUUID } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import { type MetricsJson } from '../metrics/schema.js';
import { INDICATORS } from '../metrics/indicators.js';
import { LOCALES, ReportDefSchema, type Locale, type ReportDef } from '../pipeline/reportsConfig.js';
import { loadMessages, MessageError, type Messages } from '../render/messages.js';
import { buildReportModel } from '../render/reportModel.js';
import { renderEmail, type EmailFile } from './email.js';

/**
 * The e-mail limits, one home for the stack's defaults, the Lambda's fallbacks and the local CLI:
 * the largest PDF sent as an attachment (as base64 MIME; larger ones are sent as a link), the most
 * SES v2 accepts, and how long a link stays valid (7 days, the presigned-URL maximum).
 */
export const MAIL_LIMITS = {
  attachLimitBytes: 7 * 1024 * 1024,
  maxMessageBytes: 40 * 1024 * 1024,
  linkExpiresSeconds: 7 * 24 * 3600,
} as const;

/** What the e-mail needs of a report definition; the rest takes the definition's defaults. */
export type EmailReport = Pick<ReportDef, 'id' | 'title'> & Partial<Omit<ReportDef, 'id' | 'title'>>;

/**
 * The messages of the report's locale: the built-in ones overridden by `templatesDir`'s
 * locales (the PDF's catalogue). Throws MessageError for a locale the report cannot be written in
 * or an unreadable override file.
 */
export function emailMessages(locale: string, templatesDir?: string): Messages {
  if (!(LOCALES as readonly string[]).includes(locale)) throw new MessageError(`no messages for locale "${locale}" (known: ${LOCALES.join(', ')})`);
  return loadMessages(locale as Locale, templatesDir);
}

export interface ComposeInput {
  from: string;
  to: string[];
  /** The report definition (or its id and title: the rest takes the definition's defaults). */
  report: EmailReport;
  period: string;
  /** The subject and body are written in `metrics.locale`, the language the PDF was rendered in. */
  metrics: MetricsJson;
  /** The messages of `metrics.locale` the PDF was rendered with (emailMessages). */
  messages: Messages;
  pdf: Uint8Array;
  pdfName: string;
  /** The Excel workbook of the same run, attached after the PDF when both fit, else linked. */
  workbook?: { bytes: Uint8Array; name: string; link: () => Promise<string> };
  /** Largest total of attachments, measured as base64 with MIME line breaks, sent inline. */
  attachLimitBytes: number;
  /** Called only when the PDF is too large to attach. */
  link: () => Promise<string>;
  /** Domain part of the Message-ID; defaults to the sender's domain. */
  messageIdDomain?: string;
  /** The Message-ID to use (`<...@...>`), when the caller must know it before composing. */
  messageId?: string;
  /** A test copy to this one address: marked in the subject and by a banner. */
  test?: { address: string };
}

export interface ComposedMessage {
  raw: Buffer;
  messageId: string;
  subject: string;
  /** The PDF is attached (else linked: `link`). */
  attached: boolean;
  link: string | null;
  /** What became of the workbook: attached, linked (`workbookLink`), or there was none. */
  workbook: 'attached' | 'linked' | 'none';
  workbookLink: string | null;
  html: string;
  text: string;
}

/** Size of `n` bytes as MIME base64: 4 characters per 3 bytes, CRLF after every 76 characters. */
export function base64MimeSize(n: number): number {
  const chars = Math.ceil(n / 3) * 4;
  return chars + 2 * Math.ceil(chars / 76);
}

/** A fresh Message-ID in the sender's domain (or `domain`). */
export function newMessageId(from: string, domain?: string): string {
  const d = domain ?? (from.match(/@([^>\s]+)>?\s*$/)?.[1] ?? 'localhost');
  return `<${randomUUID()}@${d}>`;
}

/**
 * The full definition the report model needs: the given fields over the definition's defaults,
 * showing only the indicators metrics.json holds.
 */
function reportDefFor(report: EmailReport, metrics: MetricsJson): ReportDef {
  const given = Object.fromEntries(Object.entries(report).filter(([, v]) => v !== undefined)) as EmailReport;
  const base = ReportDefSchema.parse({ id: report.id, title: report.title, timezone: metrics.period.timezone, locale: metrics.locale });
  const present = new Set(Object.keys(metrics.indicators));
  const indicators = (given.indicators ?? INDICATORS.map((d) => d.id)).filter((id) => present.has(id));
  return { ...base, ...given, indicators };
}

export async function composeReportMessage(input: ComposeInput): Promise<ComposedMessage> {
  const locale = input.metrics.locale as Locale;
  const model = buildReportModel(input.metrics, reportDefFor(input.report, input.metrics), locale, input.messages);
  const messageId = input.messageId ?? newMessageId(input.from, input.messageIdDomain);
  const pdfSize = base64MimeSize(input.pdf.byteLength);
  const attach = pdfSize <= input.attachLimitBytes;
  const link = attach ? null : await input.link();
  const files: EmailFile[] = [{ kind: 'pdf', name: input.pdfName, link }];
  let workbook: ComposedMessage['workbook'] = 'none';
  let workbookLink: string | null = null;
  if (input.workbook) {
    const fits = (attach ? pdfSize : 0) + base64MimeSize(input.workbook.bytes.byteLength) <= input.attachLimitBytes;
    workbook = fits ? 'attached' : 'linked';
    workbookLink = fits ? null : await input.workbook.link();
    files.push({ kind: 'workbook', name: input.workbook.name, link: workbookLink });
  }
  const content = await renderEmail({ model, files, test: input.test });

  const composer = new MailComposer({
    from: input.from,
    to: input.to,
    subject: content.subject,
    text: content.text,
    html: content.html,
    messageId,
    date: new Date(),
    headers: input.test ? { 'X-Report-Test': 'true' } : {},
    attachments: [
      ...(attach ? [{ filename: input.pdfName, content: Buffer.from(input.pdf), contentType: 'application/pdf', contentTransferEncoding: 'base64' as const }] : []),
      ...(input.workbook && workbook === 'attached'
        ? [{ filename: input.workbook.name, content: Buffer.from(input.workbook.bytes), contentType: XLSX_TYPE, contentTransferEncoding: 'base64' as const }]
        : []),
    ],
  });
  const raw = await composer.compile().build();
  return { raw, messageId, subject: content.subject, attached: attach, link, workbook, workbookLink, html: content.html, text: content.text };
}

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** The workbook's key or file name beside a PDF's: the same name ending in `.xlsx`. */
export function workbookKeyOf(pdfKey: string): string {
  return pdfKey.replace(/\.pdf$/i, '.xlsx');
}
