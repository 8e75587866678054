/**
 * Ways a composed message leaves: SES v2 (production), SMTP (a local or company relay, given as
 * an `smtp://` URL) or an outbox folder of `.eml` files (local preview). Each send failure is
 * classified: `definite` when the server answered with a refusal (nothing was sent, safe to try
 * again), otherwise in doubt (the connection broke after the message may have been accepted).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { createTransport } from 'nodemailer';

export interface Envelope {
  from: string;
  to: string[];
}

export interface SendResult {
  /** The provider's id for the message (SES MessageId, SMTP response, or the .eml path). */
  providerId: string;
}

export class TransportError extends Error {
  override name = 'TransportError';
  constructor(
    message: string,
    /** True when the message was certainly not accepted. */
    readonly definite: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface MailTransport {
  readonly kind: 'ses' | 'smtp' | 'outbox';
  /** `name` is a file-name hint (outbox only), e.g. `<reportId>-<period>`. */
  send(raw: Buffer, envelope: Envelope, name: string): Promise<SendResult>;
}

export class SesTransport implements MailTransport {
  readonly kind = 'ses';
  constructor(
    private readonly ses: SESv2Client,
    private readonly opts: { configurationSetName?: string } = {},
  ) {}

  async send(raw: Buffer, envelope: Envelope): Promise<SendResult> {
    try {
      const r = await this.ses.send(
        new SendEmailCommand({
          FromEmailAddress: envelope.from,
          Destination: { ToAddresses: envelope.to },
          Content: { Raw: { Data: raw } },
          ConfigurationSetName: this.opts.configurationSetName,
        }),
      );
      return { providerId: r.MessageId ?? '' };
    } catch (e) {
      // An HTTP status means SES answered, and an error answer means it did not accept the mail.
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      throw new TransportError(`SES refused the message: ${(e as Error).name}: ${(e as Error).message}`, status !== undefined, { cause: e });
    }
  }
}

/** Error codes nodemailer uses before any message data has been handed over. */
const SMTP_BEFORE_DATA = new Set(['ECONNECTION', 'EDNS', 'ETLS', 'EAUTH', 'EENVELOPE', 'ESOCKET_BEFORE_DATA']);

function smtpTransporter(url: string) {
  return createTransport(url);
}

export class SmtpTransport implements MailTransport {
  readonly kind = 'smtp';
  private readonly transporter: ReturnType<typeof smtpTransporter>;

  constructor(url: string) {
    if (!/^smtps?:\/\//.test(url)) throw new RangeError(`not an SMTP URL: "${url}" (expected smtp://host:port or smtps://...)`);
    this.transporter = smtpTransporter(url);
  }

  async send(raw: Buffer, envelope: Envelope): Promise<SendResult> {
    try {
      const info = await this.transporter.sendMail({ envelope: { from: envelope.from, to: envelope.to }, raw });
      return { providerId: String(info.response ?? info.messageId ?? '') };
    } catch (e) {
      const err = e as { code?: string; responseCode?: number; command?: string };
      // A 4xx/5xx reply to any command, or a failure to connect at all, means nothing was accepted.
      const definite = (err.responseCode !== undefined && err.responseCode >= 400) || SMTP_BEFORE_DATA.has(err.code ?? '');
      throw new TransportError(`SMTP send failed: ${(e as Error).message}`, definite, { cause: e });
    } finally {
      this.transporter.close();
    }
  }
}

export class OutboxTransport implements MailTransport {
  readonly kind = 'outbox';
  private readonly dir: string;
  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  async send(raw: Buffer, _envelope: Envelope, name: string): Promise<SendResult> {
    await mkdir(this.dir, { recursive: true });
    const safe = name.replace(/[^A-Za-z0-9._-]/g, '_');
    for (let i = 0; ; i++) {
      const file = join(this.dir, i === 0 ? `${safe}.eml` : `${safe}.${i}.eml`);
      try {
        await writeFile(file, raw, { flag: 'wx' });
        return { providerId: file };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw new TransportError(`cannot write ${file}: ${(e as Error).message}`, true, { cause: e });
      }
    }
  }
}
