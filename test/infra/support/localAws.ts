/**
 * Local twins of the AWS services the delivery and ingest steps talk to, for tests: s3rver (the
 * real S3 REST protocol over HTTP) and smtp-server (a real SMTP server), both on 127.0.0.1 with a
 * port chosen by the OS.
 *
 * s3rver 3.7 predates S3 conditional writes (2024) and ignores `If-None-Match: *` on PUT. The
 * delivery record depends on that header, so `startS3` puts one middleware in front of s3rver
 * that answers 412 PreconditionFailed, as S3 does, when the key already exists.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { SMTPServer } from 'smtp-server';

export interface LocalS3 {
  endpoint: string;
  client: S3Client;
  dir: string;
  /**
   * When set and it returns an S3 error code for a request (method, bucket, key), the request is
   * answered with that error instead (500 for InternalError, 503 for SlowDown, else 400).
   */
  fault: ((method: string, bucket: string, key: string) => string | undefined) | null;
  stop(): Promise<void>;
}

const FAULT_STATUS: Record<string, number> = { InternalError: 500, SlowDown: 503, ServiceUnavailable: 503 };

interface KoaCtx {
  method: string;
  path: string;
  status: number;
  type: string;
  body: unknown;
  get(name: string): string;
}

export async function startS3(buckets: string[]): Promise<LocalS3> {
  const dir = await mkdtemp(join(tmpdir(), 's3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const app = server as unknown as {
    middleware: ((ctx: KoaCtx, next: () => Promise<void>) => Promise<void>)[];
    store: { existsObject(bucket: string, key: string): Promise<boolean> };
  };
  const local = { fault: null as LocalS3['fault'] };
  app.middleware.unshift(async (ctx, next) => {
    const [, bucket = '', ...rest] = ctx.path.split('/');
    const key = rest.map(decodeURIComponent).join('/');
    const code = local.fault?.(ctx.method, bucket, key);
    if (code) {
      ctx.status = FAULT_STATUS[code] ?? 400;
      ctx.type = 'application/xml';
      ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${code} injected by the test</Message></Error>`;
      return;
    }
    if (ctx.method === 'PUT' && ctx.get('if-none-match') === '*') {
      if (await app.store.existsObject(bucket, key)) {
        ctx.status = 412;
        ctx.type = 'application/xml';
        ctx.body =
          '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code>' +
          '<Message>At least one of the pre-conditions you specified did not hold</Message></Error>';
        return;
      }
    }
    await next();
  });
  const addr = (await server.run()) as AddressInfo;
  const endpoint = `http://127.0.0.1:${addr.port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    // s3rver knows nothing of the flexible checksums newer SDKs add by default.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    client,
    dir,
    get fault() {
      return local.fault;
    },
    set fault(f) {
      local.fault = f;
    },
    async stop() {
      client.destroy();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: Buffer;
}

export interface LocalSmtp {
  url: string;
  messages: ReceivedMail[];
  /** When set, the next DATA command is answered with this SMTP error code. */
  failNext: { code: number; message: string } | null;
  stop(): Promise<void>;
}

export async function startSmtp(): Promise<LocalSmtp> {
  const state: LocalSmtp = {
    url: '',
    messages: [],
    failNext: null,
    stop: async () => {},
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const fail = state.failNext;
        if (fail) {
          state.failNext = null;
          const err = Object.assign(new Error(fail.message), { responseCode: fail.code });
          callback(err);
          return;
        }
        state.messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  state.url = `smtp://127.0.0.1:${port}`;
  state.stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}
