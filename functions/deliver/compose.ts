/**
 * The report e-mail as raw MIME, built by nodemailer's MailComposer (headers, encodings, line
 * lengths and boundaries are the library's job, not ours). The PDF is attached when its encoded
 * size fits the configured limit; otherwise the message carries a link to the archived copy.
 */
import { randomUUID } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import { type MetricsJson } from '../metrics/schema.js';

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
  reportTitle: string;
  locale: string;
  period: string;
  metrics: Pick<MetricsJson, 'indicators'>;
  pdf: Uint8Array;
  pdfName: string;
  /** Largest attachment, measured as base64 with MIME line breaks, that is sent inline. */
  attachLimitBytes: number;
  /** Called only when the PDF is too large to attach. */
  link: () => Promise<string>;
  /** Domain part of the Message-ID; defaults to the sender's domain. */
  messageIdDomain?: string;
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

interface Words {
  subject: (title: string, period: string) => string;
  intro: (title: string, period: string) => string;
  summary: (met: number, atRisk: number, missed: number) => string;
  attached: string;
  link: (url: string) => string;
}

const WORDS: Record<string, Words> = {
  en: {
    subject: (t, p) => `${t}: ${p}`,
    intro: (t, p) => `The report "${t}" for ${p} is ready.`,
    summary: (m, r, x) => `Indicators: ${m} met, ${r} at risk, ${x} missed.`,
    attached: 'The PDF is attached.',
    link: (u) => `The PDF is too large to attach; download it here (the link expires): ${u}`,
  },
  'zh-CN': {
    subject: (t, p) => `${t}：${p}`,
    intro: (t, p) => `${p}的报告《${t}》已生成。`,
    summary: (m, r, x) => `指标：达标 ${m} 项，有风险 ${r} 项，未达标 ${x} 项。`,
    attached: 'PDF 报告见附件。',
    link: (u) => `PDF 文件过大，无法作为附件发送，请通过以下链接下载（链接有时效）：${u}`,
  },
  ru: {
    subject: (t, p) => `${t}: ${p}`,
    intro: (t, p) => `Отчёт «${t}» за ${p} готов.`,
    summary: (m, r, x) => `Показатели: выполнено ${m}, под угрозой ${r}, не выполнено ${x}.`,
    attached: 'PDF-файл во вложении.',
    link: (u) => `PDF-файл слишком велик для вложения; скачайте его по ссылке (срок действия ограничен): ${u}`,
  },
};

export function periodLabel(period: string, locale: string): string {
  const [y, m] = period.split('-').map(Number) as [number, number];
  return new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'long', timeZone: 'UTC' }).format(Date.UTC(y, m - 1, 15));
}

export async function composeReportMessage(input: ComposeInput): Promise<ComposedMessage> {
  const words = WORDS[input.locale] ?? WORDS.en!;
  const label = periodLabel(input.period, input.locale);
  const counts = { met: 0, at_risk: 0, missed: 0 };
  for (const r of Object.values(input.metrics.indicators)) {
    if (r.status === 'met' || r.status === 'at_risk' || r.status === 'missed') counts[r.status]++;
  }
  const domain = input.messageIdDomain ?? (input.from.match(/@([^>\s]+)>?\s*$/)?.[1] ?? 'localhost');
  const messageId = `<${randomUUID()}@${domain}>`;
  const attach = base64MimeSize(input.pdf.byteLength) <= input.attachLimitBytes;
  const link = attach ? null : await input.link();
  const subject = words.subject(input.reportTitle, label);
  const text = [
    words.intro(input.reportTitle, label),
    words.summary(counts.met, counts.at_risk, counts.missed),
    attach ? words.attached : words.link(link!),
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
