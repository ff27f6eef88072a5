import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PipeError, UsageError } from '../src/errors.js';
import { formatBytes, formatDuration } from '../src/reporter/format.js';
import { packagedExample } from '../src/packaging/package-manifest.js';
import { readServeState } from '../src/runtime/serve-state.js';
import { packageDir, serveStateFile } from '../src/project-paths.js';
import { PROFILE_OPTION } from '../src/aws/resources/profile-option.js';
import type { TaskContext, TaskDefinition } from '../src/task.js';

interface InvokeRequest {
  url: string;
  method: string;
  /** Extra headers: a SigV4 signature for an AWS_IAM Function URL. */
  headers?: Record<string, string>;
  body?: Uint8Array<ArrayBuffer> | string;
  contentType?: string;
}

function stringOption(ctx: TaskContext, name: string): string | undefined {
  const value = ctx.options[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new UsageError('INVOKE_BAD_OPTION', `--${name} expects a string`);
  return value;
}

function contentTypeOf(file: string): string {
  switch (path.extname(file).toLowerCase()) {
    case '.json':
      return 'application/json';
    case '.csv':
      return 'text/csv';
    case '.txt':
      return 'text/plain';
    default:
      return 'application/octet-stream';
  }
}

async function buildRequest(ctx: TaskContext): Promise<InvokeRequest> {
  const data = stringOption(ctx, 'data');
  const file = stringOption(ctx, 'file');
  if (data !== undefined && file !== undefined) {
    throw new UsageError('INVOKE_BAD_OPTION', 'Pass either --data or --file, not both');
  }
  let base = stringOption(ctx, 'url');
  const deployed = ctx.options.deployed === true ? await (await import('../src/aws/stages/live-url.js')).liveUrl(ctx) : undefined;
  if (deployed && base !== undefined) throw new UsageError('INVOKE_BAD_OPTION', 'Pass either --deployed or --url, not both');
  base ??= deployed?.url;
  let servedExample: unknown;
  if (base === undefined) {
    const state = await readServeState(path.join(ctx.root, serveStateFile(ctx.config)));
    if (!state) {
      throw new PipeError('NOT_SERVING', 'No local function is being served', {
        hint: 'Run `npx pipe serve` first (in another terminal), or pass --url with the URL of a deployed function.',
      });
    }
    base = state.url;
    servedExample = state.example;
  }
  const requestPath = stringOption(ctx, 'path') ?? '/predict';
  let url: URL;
  try {
    url = new URL(requestPath, base);
  } catch {
    throw new UsageError('INVOKE_BAD_OPTION', `Not a valid URL: ${base} with path ${requestPath}`);
  }
  let body: Uint8Array<ArrayBuffer> | string | undefined;
  let contentType: string | undefined;
  const explicitMethod = stringOption(ctx, 'method')?.toUpperCase();
  if (data !== undefined) {
    body = data;
    contentType = 'application/json';
  } else if (file !== undefined) {
    const resolved = path.resolve(ctx.root, file);
    body = await readFile(resolved).then((b) => new Uint8Array(b)).catch((error: unknown) => {
      throw new UsageError('INVOKE_FILE_UNREADABLE', `Cannot read --file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    });
    contentType = contentTypeOf(resolved);
  } else if (url.pathname === '/predict' && (explicitMethod === undefined || explicitMethod === 'POST')) {
    // /predict only answers POST: without a body, send the model card's own example.
    body = JSON.stringify(await packageExample(ctx, servedExample));
    contentType = 'application/json';
  }
  const method = explicitMethod ?? (body === undefined ? 'GET' : 'POST');
  if ((method === 'GET' || method === 'HEAD') && body !== undefined) {
    throw new UsageError('INVOKE_BAD_OPTION', `A ${method} request cannot carry --data or --file`, { hint: 'Use --method POST, or drop the body.' });
  }
  const request: InvokeRequest = { url: url.toString(), method, body, contentType };
  if (deployed?.auth === 'AWS_IAM') request.headers = await deployed.sign(request);
  return request;
}

/**
 * The example request of the served package when invoking `pipe serve`, else the project's package
 * (its manifest records the model card's).
 */
async function packageExample(ctx: TaskContext, served: unknown): Promise<unknown> {
  if (served !== undefined) {
    ctx.reporter.line('no --data: sending the served package\'s example request', 'info');
    return served;
  }
  const example = await packagedExample(ctx.config);
  if (example !== undefined) {
    ctx.reporter.line(`no --data: sending the example request of ${packageDir(ctx.config)}/`, 'info');
    return example;
  }
  throw new UsageError('INVOKE_NO_BODY', `POST /predict needs a body, and no package with an example request was found (${packageDir(ctx.config)}/manifest.json)`, {
    hint: 'Pass --data \'{"feature": value, ...}\' or --file request.json, or build the package first (`npx pipe package`).',
  });
}

/** The body for a person: pretty JSON when it is JSON, text when it is text, a size otherwise. */
function describeBody(bytes: Buffer, contentType: string): string {
  if (bytes.length === 0) return '(empty body)';
  const text = bytes.toString('utf8');
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return /^(text\/|application\/(json|xml|javascript))/.test(contentType) || !text.includes('\uFFFD') ? text : `(${formatBytes(bytes.length)} of ${contentType || 'binary data'})`;
  }
}

export const invokeTask: TaskDefinition = {
  name: 'invoke',
  description: "Send one request to the served (or deployed) function and print the response (default: POST /predict with the model card's example)",
  dependencies: [],
  explicitOnly: true,
  options: {
    data: { type: 'string', describe: 'JSON request body, e.g. \'{"age": 45, ...}\'' },
    file: { type: 'string', describe: 'Read the request body from this file' },
    path: { type: 'string', describe: 'Request path', default: '/predict' },
    method: { type: 'string', describe: "HTTP method (default: POST with a body, GET without; POST /predict without a body sends the model card's example)" },
    url: { type: 'string', describe: 'Function URL (default: the one `pipe serve` is running)' },
    deployed: { type: 'boolean', describe: "Send it to the stage's deployed function (its live Function URL)", default: false },
    profile: PROFILE_OPTION,
  },
  async run(ctx) {
    const request = await buildRequest(ctx);
    const started = performance.now();
    let response: Response;
    try {
      response = await fetch(request.url, {
        method: request.method,
        body: request.body,
        headers: { ...(request.contentType ? { 'content-type': request.contentType } : {}), ...request.headers },
        signal: ctx.signal,
      });
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new PipeError('INVOKE_UNREACHABLE', `Cannot reach ${request.url}: ${cause?.code ?? cause?.message ?? String(error)}`, {
        cause: error,
        hint: 'Is `npx pipe serve` still running? For a deployed function, check the URL (`npx pipe status`).',
      });
    }
    const bytes = Buffer.from(await response.arrayBuffer());
    const ms = performance.now() - started;
    const contentType = response.headers.get('content-type') ?? '';
    ctx.io.print(`${request.method} ${request.url}\nHTTP ${response.status} ${response.statusText} (${formatDuration(ms)})\n${describeBody(bytes, contentType)}`);
    if (!response.ok) {
      throw new PipeError('INVOKE_HTTP_ERROR', `The function answered ${response.status} ${response.statusText}`, {
        hint: response.status >= 500 ? 'The function failed: its log (the `pipe serve` output, or `npx pipe logs`) shows why.' : 'The response above says what was wrong with the request.',
      });
    }
    return { summary: `${response.status} ${response.statusText} in ${formatDuration(ms)}` };
  },
};
