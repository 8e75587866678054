// One Lambda invocation in this process, as the Node.js runtime does it: the handler module is
// imported from the task root (the function's code folder, the current directory), the named
// export is called with the event and a context, and the result or the error (errorType,
// errorMessage, trace) goes back to the parent. Started by lambdaProcess.ts with fork(); plain
// JavaScript so that no loader stands between the bundle and Node.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const deadline = Number(process.env.LAMBDA_DEADLINE_MS);

function errorOf(e) {
  const err = e instanceof Error ? e : new Error(String(e));
  return { errorType: err.name || 'Error', errorMessage: err.message, trace: String(err.stack ?? '').split('\n') };
}

process.once('message', async ({ handler, event, requestId }) => {
  let reply;
  try {
    const dot = handler.lastIndexOf('.');
    const file = handler.slice(0, dot);
    const name = handler.slice(dot + 1);
    const root = process.env.LAMBDA_TASK_ROOT;
    // The runtime looks for <file>.js, .mjs and .cjs, in that order.
    const path = ['.js', '.mjs', '.cjs'].map((ext) => join(root, file + ext)).find((p) => existsSync(p));
    if (!path) throw Object.assign(new Error(`Cannot find module '${file}'`), { name: 'Runtime.ImportModuleError' });
    const mod = await import(pathToFileURL(path).href);
    const fn = mod[name];
    if (typeof fn !== 'function') throw Object.assign(new Error(`${file}.${name} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
    const context = {
      awsRequestId: requestId,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      callbackWaitsForEmptyEventLoop: true,
    };
    const result = await fn(event, context);
    reply = { ok: true, result: result === undefined ? null : result };
  } catch (e) {
    reply = { ok: false, ...errorOf(e) };
  }
  process.send(reply, () => process.exit(0));
});
