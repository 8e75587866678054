/**
 * The report e-mail as raw MIME, built by nodemailer's MailComposer (headers, encodings, line
 * lengths and boundaries are the library's job, not ours). The PDF is attached when its encoded
 * size fits the configured limit; otherwise the message carries a link to the archived copy.
 */
import { randomUUID } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import { type MetricsJson } from '../metrics/schema.js';
import { LOCALES, type Locale } from '../pipeline/reportsConfig.js';
import { MessageError, msg, type Messages } from '../render/messages.js';
import en from '../../templates/locales/en.json' with { type: 'json' };
import ru from '../../templates/locales/ru.json' with { type: 'json' };
import zhCN from '../../templates/locales/zh-CN.json' with { type: 'json' };

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

export interface ComposeInput {
  from: string;
  to: string[];
  /** The title in the report's locale. */
  reportTitle: string;
  period: string;
  /** The subject and body are written in `metrics.locale`, the language the PDF was rendered in. */
  metrics: Pick<MetricsJson, 'indicators' | 'locale'>;
  pdf: Uint8Array;
  pdfName: string;
  /** Largest attachment, measured as base64 with MIME line breaks, that is sent inline. */
  attachLimitBytes: number;
  /** Called only when the PDF is too large to attach. */
  link: () => Promise<string>;
  /** Domain part of the Message-ID; defaults to the sender's domain. */
  messageIdDomain?: string;
  /** The Message-ID to use (`<...@...>`), when the caller must know it before composing. */
  messageId?: string;
}

export interface ComposedMessage {
  raw: Buffer;
  messageId: string;
  subject: string;
  attached: boolean;
  link: string | null;
}

/** Size of `n` bytes as MIME base64: 4 characters per 3 bytes, CRLF after every 76 characters. */
export function base64MimeSize(n: number): number {
  const chars = Math.ceil(n / 3) * 4;
  return chars + 2 * Math.ceil(chars / 76);
}

/**
 * The e-mail's words: the `email.*` keys of templates/locales/<locale>.json, filled in by the
 * renderer's own `msg`. The files are imported (bundled into the Lambda) rather than read at run
 * time, because the deliver function ships without the templates folder.
 */
const MESSAGES: Record<Locale, Messages> = { en: en as Messages, 'zh-CN': zhCN as Messages, ru: ru as Messages };

/** The locale's messages; throws MessageError for a locale the report cannot be written in. */
export function emailMessages(locale: string): Messages {
  const m = (LOCALES as readonly string[]).includes(locale) ? MESSAGES[locale as Locale] : undefined;
  if (!m) throw new MessageError(`no e-mail messages for locale "${locale}" (known: ${LOCALES.join(', ')})`);
  return m;
}

export function periodLabel(period: string, locale: string): string {
  const [y, m] = period.split('-').map(Number) as [number, number];
  return new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'long', timeZone: 'UTC' }).format(Date.UTC(y, m - 1, 15));
}

/** A fresh Message-ID in the sender's domain (or `domain`). */
export function newMessageId(from: string, domain?: string): string {
  const d = domain ?? (from.match(/@([^>\s]+)>?\s*$/)?.[1] ?? 'localhost');
  return `<${randomUUID()}@${d}>`;
}

export async function composeReportMessage(input: ComposeInput): Promise<ComposedMessage> {
  const locale = input.metrics.locale;
  const messages = emailMessages(locale);
  const words = (key: string, params: Record<string, unknown> = {}) => msg(messages, locale, `email.${key}`, params);
  const label = periodLabel(input.period, locale);
  const counts = { met: 0, at_risk: 0, missed: 0 };
  for (const r of Object.values(input.metrics.indicators)) {
    if (r.status === 'met' || r.status === 'at_risk' || r.status === 'missed') counts[r.status]++;
  }
  const messageId = input.messageId ?? newMessageId(input.from, input.messageIdDomain);
  const attach = base64MimeSize(input.pdf.byteLength) <= input.attachLimitBytes;
  const link = attach ? null : await input.link();
  const subject = words('subject', { title: input.reportTitle, period: label });
  const text = [
    words('intro', { title: input.reportTitle, period: label }),
    words('summary', { met: counts.met, atRisk: counts.at_risk, missed: counts.missed }),
    attach ? words('attached') : words('link', { url: link! }),
  ].join('\n\n');

  const composer = new MailComposer({
    from: input.from,
    to: input.to,
    subject,
    text,
    messageId,
    date: new Date(),
    attachments: attach
      ? [{ filename: input.pdfName, content: Buffer.from(input.pdf), contentType: 'application/pdf', contentTransferEncoding: 'base64' }]
      : [],
  });
  const raw = await composer.compile().build();
  return { raw, messageId, subject, attached: attach, link };
}
