import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PipeError, UsageError } from '../errors.js';
import {
  internalServerError, requestTooLarge, toFunctionUrlEvent, toHttpResponse, type HttpResponseParts,
} from './function-url-event.js';
import { MAX_PAYLOAD_BYTES } from './local-function.js';

/** Anything that can be invoked like a Lambda function: a LocalFunction, or a test double. */
export interface InvokableFunction {
  invoke(event: unknown, options?: { requestId?: string }): Promise<{ result?: unknown; error?: unknown }>;
}

/** One served request, for access logs. */
export interface ServedRequest {
  method: string;
  path: string;
  statusCode: number;
  durationMs: number;
  requestId: string;
  /** Set when the function failed or could not be invoked. */
  error?: unknown;
}

export interface FunctionUrlServerOptions {
  fn: InvokableFunction;
  /** A loopback address only: the local function is never exposed to the network. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  region?: string;
  onRequest?: (request: ServedRequest) => void;
}

export interface FunctionUrlServer {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  url: string;
  port: number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Serves `fn` behind an HTTP endpoint that behaves like its Lambda Function URL. */
export async function startFunctionUrlServer(options: FunctionUrlServerOptions): Promise<FunctionUrlServer> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) {
    throw new UsageError('SERVE_NOT_LOOPBACK', `Refusing to serve the local function on ${host}`, {
      hint: 'The local server listens on 127.0.0.1 only; deploy to get a public URL.',
    });
  }
  const urlId = randomBytes(16).toString('hex');
  const region = options.region ?? 'us-east-1';

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, internalServerError());
      else res.destroy(error instanceof Error ? error : undefined);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const requestId = randomUUID();
    const target = req.url ?? '/';
    const finish = (response: HttpResponseParts, error?: unknown) => {
      response.headers.push(['x-amzn-requestid', requestId]);
      send(res, response);
      options.onRequest?.({
        method: req.method ?? 'GET', path: target.split('?')[0]!, statusCode: response.statusCode,
        durationMs: performance.now() - started, requestId, ...(error === undefined ? {} : { error }),
      });
    };

    const body = await readBody(req, MAX_PAYLOAD_BYTES);
    if (body === undefined) return finish(requestTooLarge(MAX_PAYLOAD_BYTES));
    const event = toFunctionUrlEvent({
      method: req.method ?? 'GET', target, rawHeaders: req.rawHeaders, body, sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      protocol: `HTTP/${req.httpVersion}`, requestId, now: new Date(), urlId, region,
    });
    // The limit applies to the whole event: base64 makes a 5 MB binary body too large.
    if (Buffer.byteLength(JSON.stringify(event)) > MAX_PAYLOAD_BYTES) return finish(requestTooLarge(MAX_PAYLOAD_BYTES));
    let outcome: { result?: unknown; error?: unknown };
    try {
      outcome = await options.fn.invoke(event, { requestId });
    } catch (error) {
      if (error instanceof PipeError && error.code === 'REQUEST_TOO_LARGE') return finish(requestTooLarge(MAX_PAYLOAD_BYTES), error);
      return finish(internalServerError(), error);
    }
    finish(toHttpResponse(outcome), outcome.error);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PipeError('SERVE_LISTEN_FAILED', `Cannot listen on ${host}:${options.port ?? 0}: ${code ?? String(error)}`, {
      cause: error,
      hint: code === 'EADDRINUSE' ? 'Another process uses that port: pass another one with --port, or --port 0 for any free port.' : undefined,
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** The request body, or undefined once it exceeds `limit` (the rest is drained, not kept). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= limit) chunks.push(chunk);
  }
  return size > limit ? undefined : Buffer.concat(chunks);
}

function send(res: ServerResponse, response: HttpResponseParts): void {
  res.statusCode = response.statusCode;
  for (const [name, value] of response.headers) res.appendHeader(name, value);
  res.setHeader('content-length', response.body.length);
  res.end(response.body);
}
