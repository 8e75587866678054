/**
 * Ways a composed message leaves: SES v2 (production), SMTP (a local or company relay, given as
 * an `smtp://` URL) or an outbox folder of `.eml` files (local preview).
 *
 * Every send ends in one of three ways, and only the first two are certain:
 * - not sent (TransportError with `definite: true`): the server refused the request before it
 *   could have accepted the message (SES: a 4xx answer; SMTP: a refusal or a broken connection
 *   before the message body was handed over, or a refusal in answer to the body);
 * - sent (a SendResult): the server accepted the message, for the recipients in `accepted`
 *   (SMTP may refuse single recipients: `refused`, with the server's reply);
 * - in doubt (TransportError with `definite: false`): anything else, above all a 5xx from SES or
 *   a connection lost while or after the message was transmitted. The server may have accepted
 *   it, so nobody may send it again automatically.
 * The error carries the evidence (error name, HTTP status or SMTP reply, request id) for the
 * delivery record.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { SendEmailCommand, SESv2Client, type SESv2ClientConfig } from '@aws-sdk/client-sesv2';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { parseConnectionUrl } from 'nodemailer/lib/shared';
import addressparser from 'nodemailer/lib/addressparser';

/** The bare address of `Name <a@b>` (SMTP's envelope takes only that). */
function bareAddress(address: string): string {
  return addressparser(address, { flatten: true })[0]?.address || address;
}

export interface Envelope {
  from: string;
  to: string[];
}

export interface RefusedRecipient {
  address: string;
  /** The server's reply, e.g. `550 5.1.1 No such user`. */
  reply: string;
}

export interface SendResult {
  /** The provider's id for the message (SES MessageId, SMTP response, or the .eml path). */
  providerId: string;
  /** Recipients the server accepted the message for. */
  accepted: string[];
  /** Recipients the server refused (the message was accepted for the others). */
  refused: RefusedRecipient[];
}

/** What is known about a failed send, kept in the delivery record. */
export interface SendEvidence {
  transport: MailTransport['kind'];
  /** How far the send got: `connect`, `envelope` (MAIL FROM/RCPT TO/DATA), `message` (the body was being sent), `request` (SES). */
  phase: 'connect' | 'envelope' | 'message' | 'request' | 'write';
  /** Error name (SES exception name, e.g. MessageRejected). */
  error: string;
  message: string;
  /** SES: HTTP status of the answer, when there was one. */
  httpStatus?: number;
  /** SES: the request id (x-amzn-RequestId), when there was an answer. */
  requestId?: string;
  /** SMTP: nodemailer's error code (ECONNECTION, EENVELOPE, EMESSAGE, ...). */
  code?: string;
  /** SMTP: the command the error belongs to (CONN, MAIL FROM, RCPT TO, DATA). */
  command?: string;
  /** SMTP: the server's reply and its code, when it answered. */
  response?: string;
  responseCode?: number;
  /** SMTP: recipients refused at RCPT TO, when none was accepted. */
  refused?: RefusedRecipient[];
}

export class TransportError extends Error {
  override name = 'TransportError';
  constructor(
    message: string,
    /** True when the message was certainly not accepted. */
    readonly definite: boolean,
    readonly evidence: SendEvidence,
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

/**
 * The SES client for sending: SDK retries off. A retried SendEmail whose first try reached SES
 * can mail everyone twice; whether to try again is decided by the delivery record, not the SDK.
 */
export function sesSendClient(config: SESv2ClientConfig = {}): SESv2Client {
  return new SESv2Client({ ...config, maxAttempts: 1 });
}

export class SesTransport implements MailTransport {
  readonly kind = 'ses';
  constructor(
    private readonly ses: SESv2Client,
    private readonly opts: { configurationSetName?: string } = {},
  ) {}

  async send(raw: Buffer, envelope: Envelope): Promise<SendResult> {
    const attempts = await this.ses.config.maxAttempts();
    if (attempts !== 1) {
      throw new TransportError(`the SES client retries (maxAttempts ${attempts}); use sesSendClient()`, true, {
        transport: 'ses',
        phase: 'request',
        error: 'ClientMisconfigured',
        message: `maxAttempts is ${attempts}, not 1`,
      });
    }
    try {
      const r = await this.ses.send(
        new SendEmailCommand({
          FromEmailAddress: envelope.from,
          Destination: { ToAddresses: envelope.to },
          Content: { Raw: { Data: raw } },
          ConfigurationSetName: this.opts.configurationSetName,
        }),
      );
      // SES takes or refuses the message as a whole.
      return { providerId: r.MessageId ?? '', accepted: [...envelope.to], refused: [] };
    } catch (e) {
      const err = e as Error & { $metadata?: { httpStatusCode?: number; requestId?: string } };
      const httpStatus = err.$metadata?.httpStatusCode;
      const evidence: SendEvidence = {
        transport: 'ses',
        phase: 'request',
        error: err.name,
        message: err.message,
        ...(httpStatus !== undefined ? { httpStatus } : {}),
        ...(err.$metadata?.requestId ? { requestId: err.$metadata.requestId } : {}),
      };
      // Only a 4xx answer (MessageRejected, validation, throttling) says SES did not take the
      // message. A 5xx or no answer at all (connection dropped, timeout) leaves it in doubt.
      const definite = httpStatus !== undefined && httpStatus >= 400 && httpStatus < 500;
      const what = definite ? 'SES refused the message' : 'SES send in doubt';
      throw new TransportError(`${what}: ${err.name}${httpStatus ? ` (HTTP ${httpStatus})` : ''}: ${err.message}`, definite, evidence, { cause: e });
    }
  }
}

type SmtpError = Error & { code?: string; command?: string; response?: string; responseCode?: number; rejectedErrors?: SmtpError[]; recipient?: string };

function refusedOf(errors: SmtpError[] | undefined): RefusedRecipient[] {
  return (errors ?? []).map((r) => ({ address: r.recipient ?? '', reply: r.response ?? r.message }));
}

export interface SmtpOptions {
  /** Milliseconds; nodemailer's defaults are minutes. */
  connectionTimeout?: number;
  socketTimeout?: number;
}

/**
 * SMTP through nodemailer's SMTPConnection, so the transport knows how far a send got: the
 * message body is handed over only after the server answered DATA with 354, and only from then
 * on can a lost connection mean the server has the message.
 */
export class SmtpTransport implements MailTransport {
  readonly kind = 'smtp';
  private readonly url: string;

  constructor(
    url: string,
    private readonly opts: SmtpOptions = {},
  ) {
    if (!/^smtps?:\/\//.test(url)) throw new RangeError(`not an SMTP URL: "${url}" (expected smtp://host:port or smtps://...)`);
    this.url = url;
  }

  async send(raw: Buffer, envelope: Envelope): Promise<SendResult> {
    const { auth, ...options } = parseConnectionUrl(this.url) as ReturnType<typeof parseConnectionUrl> & { auth?: { user: string; pass: string } };
    const conn = new SMTPConnection({
      ...(options as object),
      ...(this.opts.connectionTimeout ? { connectionTimeout: this.opts.connectionTimeout, greetingTimeout: this.opts.connectionTimeout } : {}),
      ...(this.opts.socketTimeout ? { socketTimeout: this.opts.socketTimeout } : {}),
    });
    // An object, so the body's read() can move it on (TypeScript narrows a plain `let`).
    const at: { phase: 'connect' | 'envelope' | 'message' } = { phase: 'connect' };
    // Errors arrive through the step's callback, an 'error' event, or a silent 'end'.
    let fail: (e: unknown) => void = () => {};
    conn.on('error', (e: unknown) => fail(e));
    conn.on('end', () => fail(Object.assign(new Error('Connection closed'), { code: 'ECONNECTION', command: 'CONN' })));
    const step = <T>(run: (done: (err: unknown, value?: T) => void) => void) =>
      new Promise<T>((resolvePromise, reject) => {
        fail = reject;
        run((err, value) => (err ? reject(err) : resolvePromise(value as T)));
      });
    try {
      await step<void>((done) => conn.connect((err) => done(err)));
      if (auth) await step<void>((done) => conn.login(auth, (err) => done(err)));
      at.phase = 'envelope';
      // Read only once the server said 354 to DATA: from then on the message may be accepted.
      const body = new Readable({
        read() {
          at.phase = 'message';
          this.push(raw);
          this.push(null);
        },
      });
      const info = await step<{ accepted?: string[]; rejectedErrors?: SmtpError[]; rejected?: string[]; response?: string }>((done) =>
        conn.send({ from: bareAddress(envelope.from), to: envelope.to.map(bareAddress) }, body, (err, result) => done(err, result)),
      );
      fail = () => {};
      conn.quit();
      // Report the addresses as they were given, not as the envelope carried them.
      const given = new Map(envelope.to.map((a) => [bareAddress(a).toLowerCase(), a]));
      const asGiven = (a: string) => given.get(a.toLowerCase()) ?? a;
      const refused = refusedOf(info.rejectedErrors).map((r) => ({ ...r, address: asGiven(r.address) }));
      for (const address of (info.rejected ?? []).map(asGiven)) {
        if (!refused.some((r) => r.address === address)) refused.push({ address, reply: 'refused' });
      }
      return { providerId: String(info.response ?? ''), accepted: (info.accepted ?? []).map(asGiven), refused };
    } catch (e) {
      fail = () => {};
      conn.close();
      const err = e as SmtpError;
      const evidence: SendEvidence = {
        transport: 'smtp',
        phase: at.phase,
        error: err.name,
        message: err.message,
        ...(err.code ? { code: err.code } : {}),
        ...(err.command ? { command: err.command } : {}),
        ...(err.response ? { response: err.response } : {}),
        ...(typeof err.responseCode === 'number' ? { responseCode: err.responseCode } : {}),
        ...(err.rejectedErrors?.length ? { refused: refusedOf(err.rejectedErrors) } : {}),
      };
      // Before the body: nothing can have been accepted. After it: only an explicit refusal
      // in answer to the body (EMESSAGE on DATA with a 4xx/5xx reply) is certain.
      const definite =
        at.phase !== 'message' || (err.code === 'EMESSAGE' && err.command === 'DATA' && typeof err.responseCode === 'number' && err.responseCode >= 400);
      const what = definite ? 'SMTP send failed' : 'SMTP send in doubt (the connection failed after the message was handed over)';
      throw new TransportError(`${what}: ${err.message}`, definite, evidence, { cause: e });
    } finally {
      conn.removeAllListeners('end');
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
        return { providerId: file, accepted: [..._envelope.to], refused: [] };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw new TransportError(`cannot write ${file}: ${(e as Error).message}`, true, { transport: 'outbox', phase: 'write', error: (e as Error).name, message: (e as Error).message }, { cause: e });
      }
    }
  }
}
