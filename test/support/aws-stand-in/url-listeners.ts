import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { StandInContext, UrlListeners } from './context.js';
import { resolveVersion } from './lambda-settings.js';
import { ingestEmbeddedMetrics, recordInvocation } from './cloudwatch.js';
import { allowsPublicUrlInvoke } from './lambda-policy.js';
import { lambdaStreamName } from './state.js';
import { functionUrlEvent } from './url-event.js';
import type { CorsConfig, FunctionRecord, FunctionUrlResponse, InvokedFunction, UrlConfigRecord } from './types.js';

/** Function URLs accept synchronous payloads up to 6 MB. */
const PAYLOAD_LIMIT = 6 * 1024 * 1024;

/**
 * One HTTP listener per Function URL config, standing in for https://<id>.lambda-url.<region>.on.aws/.
 * Each request is authorised against the URL's auth type and resource policy, then run by the
 * invokeUrl hook with the code of the version the qualifier points at.
 */
export function createUrlListeners(getContext: () => StandInContext): UrlListeners {
  const servers = new Map<string, Server>();
  const key = (name: string, qualifier: string) => `${name}\u0000${qualifier}`;

  async function stop(server: Server): Promise<void> {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  return {
    async open(functionName, qualifier) {
      const existing = servers.get(key(functionName, qualifier));
      if (existing) await stop(existing);
      const server = createServer((req, res) => {
        handle(getContext(), functionName, qualifier, req, res).catch((error: unknown) => {
          if (!res.headersSent) send(res, 502, { Message: 'Internal Server Error' });
          else res.destroy(error as Error);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.set(key(functionName, qualifier), server);
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    },
    async close(functionName, qualifier) {
      const server = servers.get(key(functionName, qualifier));
      servers.delete(key(functionName, qualifier));
      if (server) await stop(server);
    },
    async closeAll() {
      const all = [...servers.values()];
      servers.clear();
      await Promise.all(all.map(stop));
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function readLimited(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= PAYLOAD_LIMIT) chunks.push(chunk as Buffer);
  }
  return size > PAYLOAD_LIMIT ? undefined : Buffer.concat(chunks);
}

function corsHeaders(cors: CorsConfig | undefined, origin: string | undefined): Record<string, string> {
  if (!cors || origin === undefined) return {};
  const origins = cors.AllowOrigins ?? [];
  if (!origins.includes('*') && !origins.includes(origin)) return {};
  const headers: Record<string, string> = { 'access-control-allow-origin': origins.includes('*') ? '*' : origin };
  if (cors.AllowCredentials) headers['access-control-allow-credentials'] = 'true';
  if (cors.ExposeHeaders?.length) headers['access-control-expose-headers'] = cors.ExposeHeaders.join(',');
  return headers;
}

function isSigned(req: IncomingMessage): boolean {
  const auth = req.headers.authorization ?? '';
  return /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/[^/]+\/lambda\/aws4_request/.test(auth);
}

async function handle(
  ctx: StandInContext,
  functionName: string,
  qualifier: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const body = await readLimited(req);
  const fn = ctx.state.functions.get(functionName);
  const config = fn?.urlConfigs.get(qualifier);
  if (!fn || !config) return send(res, 403, { Message: 'Forbidden' });
  const origin = typeof req.headers.origin === 'string' ? req.headers.origin : undefined;
  const cors = corsHeaders(config.cors, origin);
  if (req.method === 'OPTIONS' && config.cors && req.headers['access-control-request-method']) {
    // Lambda answers CORS preflight itself, without invoking the function.
    const preflight: Record<string, string> = { ...cors };
    if (config.cors.AllowMethods?.length) preflight['access-control-allow-methods'] = config.cors.AllowMethods.join(',');
    if (config.cors.AllowHeaders?.length) preflight['access-control-allow-headers'] = config.cors.AllowHeaders.join(',');
    if (config.cors.MaxAge !== undefined) preflight['access-control-max-age'] = String(config.cors.MaxAge);
    res.writeHead(200, preflight);
    res.end();
    return;
  }
  if (config.authType === 'NONE' ? !allowsPublicUrlInvoke(fn, qualifier) : !isSigned(req)) {
    return send(res, 403, { Message: 'Forbidden' });
  }
  if (body === undefined) return send(res, 413, { Message: 'Request Entity Too Large' }, cors);
  if (!ctx.invokeUrl) return send(res, 502, { Message: 'Internal Server Error' }, cors);
  await invoke(ctx, fn, config, req, body, res, cors);
}

async function invoke(
  ctx: StandInContext,
  fn: FunctionRecord,
  config: UrlConfigRecord,
  req: IncomingMessage,
  body: Buffer,
  res: ServerResponse,
  cors: Record<string, string>,
): Promise<void> {
  const record = routedVersion(ctx, fn, config.qualifier);
  const settings = record.settings;
  const metricQualifier = config.qualifier === '$LATEST' ? undefined : config.qualifier;
  if (fn.reservedConcurrency === 0) {
    // A cap of 0 stops every invocation: Lambda throttles it before any code runs.
    recordInvocation(ctx, fn.name, metricQualifier, record.version, 'throttled');
    return send(res, 429, { Message: 'Rate Exceeded.' }, { ...cors, 'x-amzn-errortype': 'TooManyRequestsException' });
  }
  const invoked: InvokedFunction = {
    functionName: fn.name,
    version: record.version,
    zip: record.code.zip,
    layers: settings.layers.flatMap((arn) => {
      const match = /:layer:([^:]+):(\d+)$/.exec(arn);
      const version = match ? ctx.state.layers.get(match[1]!)?.versions.get(Number(match[2])) : undefined;
      return version ? [version.code.zip] : [];
    }),
    handler: settings.handler,
    runtime: settings.runtime,
    env: { ...settings.environment },
    timeout: settings.timeout,
    memory: settings.memorySize,
    architectures: settings.architectures,
    ephemeralStorage: settings.ephemeralStorage,
  };
  const requestId = randomUUID();
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const request = {
    method: req.method ?? 'GET',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    body,
  };
  const event = functionUrlEvent(request, {
    accountId: config.authType === 'NONE' ? 'anonymous' : ctx.state.accountId,
    requestId,
    sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
    domainName: url.host,
  });
  const started = Date.now();
  let response: FunctionUrlResponse | undefined;
  let failure: unknown;
  try {
    response = await ctx.invokeUrl!(invoked, { ...request, event });
  } catch (error) {
    failure = error;
  }
  const duration = Date.now() - started;
  const lines = [
    `START RequestId: ${requestId} Version: ${record.version}`,
    ...(response?.logs ?? []),
    ...(failure === undefined ? [] : [`[ERROR] ${(failure as Error)?.message ?? String(failure)}`]),
    `END RequestId: ${requestId}`,
    `REPORT RequestId: ${requestId}\tDuration: ${duration.toFixed(2)} ms\tBilled Duration: ${Math.max(1, duration)} ms\t` +
      `Memory Size: ${settings.memorySize} MB\tMax Memory Used: ${Math.min(settings.memorySize, 64)} MB`,
  ];
  ctx.state.appendFunctionLogs(fn.name, lines, { streamName: streamFor(fn.name, record.version) });
  ingestEmbeddedMetrics(ctx, response?.logs ?? []);
  recordInvocation(ctx, fn.name, metricQualifier, record.version, failure !== undefined || response?.functionError ? 'error' : 'ok');
  const common = { ...cors, 'x-amzn-requestid': requestId };
  if (!response) return send(res, 502, { Message: 'Internal Server Error' }, common);
  const payload = response.body === undefined ? Buffer.alloc(0) : Buffer.from(response.body);
  if (payload.length > PAYLOAD_LIMIT) return send(res, 502, { Message: 'Internal Server Error' }, common);
  res.writeHead(response.statusCode, { ...(response.headers ?? {}), ...common });
  res.end(payload);
}

/**
 * The version an invocation through `qualifier` runs: an alias with a routing configuration sends each
 * request to its additional version with that version's weight, else to its own version.
 */
function routedVersion(ctx: StandInContext, fn: FunctionRecord, qualifier: string) {
  const weights = Object.entries(fn.aliases.get(qualifier)?.routingConfig?.AdditionalVersionWeights ?? {});
  let draw = ctx.random();
  for (const [version, weight] of weights) {
    if (draw < weight) return resolveVersion(ctx, fn, version);
    draw -= weight;
  }
  return resolveVersion(ctx, fn, qualifier);
}

/** One log stream per function version, like one warm execution environment. */
const streams = new Map<string, string>();
function streamFor(functionName: string, version: string): string {
  const id = `${functionName}:${version}`;
  let name = streams.get(id);
  if (!name) {
    name = lambdaStreamName(version);
    streams.set(id, name);
  }
  return name;
}
