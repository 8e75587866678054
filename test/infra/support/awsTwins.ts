/**
 * HTTP twins of the AWS APIs the bundled functions call, for functions running in their own
 * process (lambdaProcess.ts) with the SDK pointed here through AWS_ENDPOINT_URL_<SERVICE>:
 *
 * - SES v2 SendEmail (REST-JSON, POST /v2/email/outbound-emails): records each raw message it
 *   accepts and answers { MessageId }; a test can make it answer throttling (429
 *   TooManyRequestsException), a rejection (400 MessageRejected), a server error (500) or drop the
 *   connection after reading the request, and run a hook once a message is accepted (before the
 *   answer leaves, e.g. to kill the sender between send and record).
 * - Athena (JSON 1.1, X-Amz-Target AmazonAthena.<Operation>): the four query operations answered by
 *   test/support/athenaOverTrino.ts, i.e. by the local Trino; a test can make every query end
 *   FAILED (as Athena does for its internal errors) or stay RUNNING forever.
 *
 * Both listen on 127.0.0.1 with a port chosen by the OS.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AthenaOverTrino } from '../../support/athenaOverTrino.js';

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function answer(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(payload, function (this: Record<string, unknown>, key, value) {
    // Timestamps as epoch seconds, as the JSON protocols send them.
    const raw = this[key];
    return raw instanceof Date ? raw.getTime() / 1000 : value;
  });
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID(), ...headers });
  res.end(text);
}

// ---------------------------------------------------------------------------------------------
// SES v2
// ---------------------------------------------------------------------------------------------

export interface SesMessage {
  messageId: string;
  from: string;
  to: string[];
  raw: Buffer;
}

export type SesFault = 'throttle' | 'reject' | 'server-error' | 'drop';

export interface SesTwin {
  endpoint: string;
  /** The messages accepted (answered 200, or accepted and then the sender was killed). */
  messages: SesMessage[];
  /** SendEmail requests received, accepted or not. */
  requests: number;
  /** The fault for the n-th request from now (1-based), or undefined to accept it. */
  fault: ((n: number) => SesFault | undefined) | null;
  /** Run after a message is recorded as accepted, before the answer is sent. */
  onAccepted: ((m: SesMessage) => void | Promise<void>) | null;
  reset(): void;
  stop(): Promise<void>;
}

export async function startSesTwin(): Promise<SesTwin> {
  let faultCount = 0;
  const twin: SesTwin = {
    endpoint: '',
    messages: [],
    requests: 0,
    fault: null,
    onAccepted: null,
    reset() {
      twin.messages = [];
      twin.requests = 0;
      twin.fault = null;
      twin.onAccepted = null;
      faultCount = 0;
    },
    stop: async () => {},
  };
  const server = createServer((req, res) => {
    void (async () => {
      const data = await body(req);
      if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v2/email/outbound-emails') {
        return answer(res, 404, { message: `not served by the SES twin: ${req.method} ${req.url}` }, { 'x-amzn-errortype': 'NotFoundException' });
      }
      twin.requests++;
      const fault = twin.fault?.(++faultCount);
      if (fault === 'drop') {
        req.socket.destroy();
        return;
      }
      if (fault === 'throttle') return answer(res, 429, { message: 'Maximum sending rate exceeded.' }, { 'x-amzn-errortype': 'TooManyRequestsException' });
      if (fault === 'reject') return answer(res, 400, { message: 'Email address is not verified.' }, { 'x-amzn-errortype': 'MessageRejected' });
      if (fault === 'server-error') return answer(res, 500, { message: 'Internal failure (injected).' }, { 'x-amzn-errortype': 'InternalFailure' });
      const input = JSON.parse(data.toString('utf8')) as { FromEmailAddress?: string; Destination?: { ToAddresses?: string[] }; Content?: { Raw?: { Data?: string } } };
      const raw = input.Content?.Raw?.Data;
      if (!raw) return answer(res, 400, { message: 'Content.Raw.Data is required by this twin' }, { 'x-amzn-errortype': 'BadRequestException' });
      const m: SesMessage = {
        messageId: `0100${randomUUID().replace(/-/g, '')}-000000`,
        from: input.FromEmailAddress ?? '',
        to: input.Destination?.ToAddresses ?? [],
        raw: Buffer.from(raw, 'base64'),
      };
      twin.messages.push(m);
      await twin.onAccepted?.(m);
      if (!res.socket || res.socket.destroyed) return;
      answer(res, 200, { MessageId: m.messageId });
    })().catch((e: unknown) => answer(res, 500, { message: String(e) }, { 'x-amzn-errortype': 'InternalFailure' }));
  });
  twin.endpoint = await listen(server);
  twin.stop = () => close(server);
  return twin;
}

// ---------------------------------------------------------------------------------------------
// Athena
// ---------------------------------------------------------------------------------------------

export type AthenaFault = 'fail' | 'hang';

export interface AthenaTwin {
  endpoint: string;
  /** Operations received, in order (e.g. 'StartQueryExecution'). */
  operations: string[];
  /** Every query from now on ends FAILED ('fail') or never ends ('hang'); null: answered by Trino. */
  fault: AthenaFault | null;
  stop(): Promise<void>;
}

export async function startAthenaTwin(backend: AthenaOverTrino): Promise<AthenaTwin> {
  /** Executions of injected faults: id -> the state they report. */
  const faulty = new Map<string, { fault: AthenaFault; sql: string; submitted: Date }>();
  const twin: AthenaTwin = { endpoint: '', operations: [], fault: null, stop: async () => {} };

  const fakeExecution = (id: string) => {
    const f = faulty.get(id)!;
    const failed = f.fault === 'fail';
    return {
      QueryExecution: {
        QueryExecutionId: id,
        Query: f.sql,
        StatementType: 'DML',
        Status: {
          State: failed ? 'FAILED' : 'RUNNING',
          SubmissionDateTime: f.submitted,
          ...(failed
            ? {
                CompletionDateTime: new Date(),
                StateChangeReason: 'GENERIC_INTERNAL_ERROR: injected by the test',
                AthenaError: { ErrorCategory: 1, ErrorType: 401, Retryable: true, ErrorMessage: 'GENERIC_INTERNAL_ERROR: injected by the test' },
              }
            : {}),
        },
      },
    };
  };

  const server = createServer((req, res) => {
    void (async () => {
      const input = JSON.parse((await body(req)).toString('utf8') || '{}') as Record<string, unknown>;
      const op = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonAthena\./, '');
      twin.operations.push(op);
      const id = input['QueryExecutionId'] as string | undefined;
      switch (op) {
        case 'StartQueryExecution':
          if (twin.fault) {
            const qid = randomUUID();
            faulty.set(qid, { fault: twin.fault, sql: String(input['QueryString']), submitted: new Date() });
            return answer(res, 200, { QueryExecutionId: qid });
          }
          return answer(res, 200, await backend.start(input as never));
        case 'GetQueryExecution':
          return answer(res, 200, id && faulty.has(id) ? fakeExecution(id) : await backend.getQueryExecution(input as never));
        case 'GetQueryResults':
          return answer(res, 200, await backend.getQueryResults(input as never));
        case 'StopQueryExecution':
          return answer(res, 200, id && faulty.has(id) ? {} : await backend.stop(input as never));
        default:
          return answer(res, 400, { __type: 'InvalidRequestException', Message: `operation ${op} is not served by the Athena twin` });
      }
    })().catch((e: unknown) => {
      const err = e as Error;
      const status = err.name === 'InvalidRequestException' ? 400 : 500;
      answer(res, status, { __type: err.name === 'InvalidRequestException' ? err.name : 'InternalServerException', Message: err.message });
    });
  });
  twin.endpoint = await listen(server);
  twin.stop = () => close(server);
  return twin;
}
