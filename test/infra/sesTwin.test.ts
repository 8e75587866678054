/**
 * The SES v2 twin the bundled deliver function mails through (support/awsTwins.ts), spoken to by
 * the project's own SesTransport over HTTP: what it accepts is recorded byte for byte, and each
 * fault it can answer is classified by the transport as SES's answer would be: a 4xx means nothing
 * was sent (definite), a 5xx or a dropped connection leaves the send in doubt.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SesTransport, sesSendClient, TransportError } from '../../functions/deliver/transport.js';
import { type SesFault, type SesTwin, startSesTwin } from './support/awsTwins.js';

let ses: SesTwin;
let transport: SesTransport;
const RAW = Buffer.from('From: reports@example.com\r\nTo: a@example.com\r\nSubject: t\r\n\r\nhello\r\n');
const ENVELOPE = { from: 'reports@example.com', to: ['a@example.com', 'b@example.com'] };

beforeAll(async () => {
  ses = await startSesTwin();
  transport = new SesTransport(sesSendClient({ endpoint: ses.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'LOCAL', secretAccessKey: 'LOCAL' } }));
});
afterAll(() => ses?.stop());
beforeEach(() => ses.reset());

describe('SES v2 twin', () => {
  it('records an accepted message byte for byte, with its envelope, and answers its MessageId', async () => {
    const sent = await transport.send(RAW, ENVELOPE);

    expect(ses.messages).toHaveLength(1);
    expect(Buffer.compare(ses.messages[0]!.raw, RAW)).toBe(0);
    expect(ses.messages[0]!.from).toBe('reports@example.com');
    expect(ses.messages[0]!.to).toEqual(['a@example.com', 'b@example.com']);
    expect(sent).toEqual({ providerId: ses.messages[0]!.messageId, accepted: ENVELOPE.to, refused: [] });
  });

  it.each<[SesFault, boolean, number | undefined, string]>([
    ['throttle', true, 429, 'TooManyRequestsException'],
    ['reject', true, 400, 'MessageRejected'],
    ['server-error', false, 500, 'InternalFailure'],
    ['drop', false, undefined, ''],
  ])('%s: recorded nothing; the transport calls it definite=%s (HTTP %s %s)', async (fault, definite, httpStatus, name) => {
    ses.fault = (n) => (n === 1 ? fault : undefined);

    const err = await transport.send(RAW, ENVELOPE).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(TransportError);
    const t = err as TransportError;
    expect(t.definite).toBe(definite);
    expect(t.evidence.httpStatus).toBe(httpStatus);
    if (name) expect(t.evidence.error).toBe(name);
    expect(ses.requests).toBe(1);
    expect(ses.messages).toEqual([]);
    // The next request is accepted again (the fault was for the first one only).
    await transport.send(RAW, ENVELOPE);
    expect(ses.messages).toHaveLength(1);
  });

  it('runs the accepted hook after recording and before answering (a sender killed there has sent the mail)', async () => {
    const seen: number[] = [];
    ses.onAccepted = () => void seen.push(ses.messages.length);

    await transport.send(RAW, ENVELOPE);

    expect(seen).toEqual([1]);
  });
});
