import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { AwsError, ForeignAnswer, renderError } from './errors.js';
import { createFaults, type Faults } from './faults.js';
import { createState, type StandInState } from './state.js';
import { createUrlListeners } from './url-listeners.js';
import { routeLambda } from './lambda-routes.js';
import { routeIam } from './iam.js';
import { routeLogs } from './logs.js';
import { fireRule, routeEvents, type RuleInvocation } from './events.js';
import { routeSts } from './sts.js';
import { isCloudWatchTarget, routeCloudWatch } from './cloudwatch.js';
import type { ApiRequest, ApiResponse, RoutedCall, StandInContext } from './context.js';
import type { AwsServiceName, AwsStandInOptions, InvokeUrlHook } from './types.js';
import { parseAuthorization, signatureMatches, type ParsedAuthorization } from './sigv4.js';

export type * from './types.js';
export type { StandInState, AppendLogOptions } from './state.js';
export type { Faults } from './faults.js';
export type { RawAnswer } from './errors.js';
export type { RuleInvocation } from './events.js';
export { functionUrlEvent, functionUrlResponseFromResult } from './url-event.js';

/** A running stand-in for the Lambda, IAM, CloudWatch Logs, CloudWatch, EventBridge and STS control planes. */
export interface AwsStandIn {
  /** http://127.0.0.1:PORT, serving every service on one port. */
  endpoint: string;
  /** AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION for a child process (S3 not included). */
  env: Record<string, string>;
  /** Same credentials and region as `env`, for SDK clients built in the test process. */
  clientConfig: {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  state: StandInState;
  faults: Faults;
  /** Replaces (or removes) the hook Function URL requests run through. */
  setInvokeUrl(hook: InvokeUrlHook | undefined): void;
  /** Fires an EventBridge rule as its schedule would; throws when Lambda would refuse a target. */
  fireRule(name: string): RuleInvocation[];
  close(): Promise<void>;
}

/** Lambda's front end refuses request bodies above this size (base64 of a 50 MB zip plus JSON). */
const LAMBDA_BODY_LIMIT = 70_167_211;
const OTHER_BODY_LIMIT = 10 * 1024 * 1024;

/**
 * Starts the stand-in on 127.0.0.1 (ephemeral port). Real AWS SDK v3 clients talk to it through an
 * endpoint override (`endpoint` or AWS_ENDPOINT_URL). Defaults to credentials S3RVER/S3RVER, which
 * s3rver also accepts, so one set of credentials serves a child process for S3 and the rest.
 */
export async function startAwsStandIn(options: AwsStandInOptions = {}): Promise<AwsStandIn> {
  const accountId = options.accountId ?? '123456789012';
  const region = options.region ?? 'us-east-1';
  const accessKeyId = options.accessKeyId ?? 'S3RVER';
  const secretAccessKey = options.secretAccessKey ?? 'S3RVER';
  const state = createState(accountId, region, options.accountConcurrency ?? 1000);
  const faults = createFaults();
  const ctx: StandInContext = {
    state,
    endpoint: '',
    callerArn: `arn:aws:iam::${accountId}:user/pipe-deployer`,
    pollsUntilActive: options.pollsUntilActive ?? 2,
    rolePropagationFailures: options.rolePropagationFailures ?? 0,
    s3Endpoint: options.s3Endpoint,
    invokeUrl: options.invokeUrl,
    urls: createUrlListeners(() => ctx),
    withoutActions: new Set(options.withoutActions ?? []),
    random: seededRandom(options.seed ?? 1),
  };

  const server = createServer((req, res) => {
    serve(ctx, faults, { accessKeyId, secretAccessKey }, req, res).catch((error: unknown) => {
      // A bug in the stand-in itself: answer like an AWS internal error, but make it visible.
      const rendered = renderError('lambda', new AwsError('ServiceException', `stand-in failure: ${(error as Error).stack}`, 500));
      if (!res.headersSent) res.writeHead(rendered.status, rendered.headers);
      res.end(rendered.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ctx.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint: ctx.endpoint,
    env: {
      AWS_ENDPOINT_URL: ctx.endpoint,
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      AWS_REGION: region,
    },
    clientConfig: { endpoint: ctx.endpoint, region, credentials: { accessKeyId, secretAccessKey } },
    state,
    faults,
    setInvokeUrl(hook) {
      ctx.invokeUrl = hook;
    },
    fireRule: (name) => fireRule(ctx, name),
    async close() {
      await ctx.urls.closeAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** mulberry32: a small, well-mixed 32-bit generator. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Which service a request is for: the SigV4 scope when present, else the request's shape. */
function serviceOf(req: ApiRequest, scope: string | undefined): AwsServiceName | 's3' | undefined {
  if (scope === 'lambda' || scope === 'iam' || scope === 'logs' || scope === 'sts' || scope === 'events' || scope === 'monitoring' || scope === 's3') return scope;
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string' && target.startsWith('Logs_')) return 'logs';
  if (typeof target === 'string' && target.startsWith('AWSEvents.')) return 'events';
  if (isCloudWatchTarget(target)) return 'monitoring';
  if (/^\/20\d\d-\d\d-\d\d\//.test(req.path)) return 'lambda';
  if (req.method === 'POST') {
    const action = new URLSearchParams(req.body.toString('utf8')).get('Action');
    if (action === 'GetCallerIdentity') return 'sts';
    if (action !== null) return 'iam';
  }
  return undefined;
}

function route(ctx: StandInContext, service: AwsServiceName, req: ApiRequest): RoutedCall | undefined {
  switch (service) {
    case 'lambda':
      return routeLambda(ctx, req);
    case 'iam':
      return routeIam(ctx, req);
    case 'sts':
      return routeSts(ctx, req);
    case 'logs': {
      const target = req.headers['x-amz-target'];
      return typeof target === 'string' ? routeLogs(ctx, req, target) : undefined;
    }
    case 'events': {
      const target = req.headers['x-amz-target'];
      return typeof target === 'string' ? routeEvents(ctx, req, target) : undefined;
    }
    case 'monitoring': {
      const target = req.headers['x-amz-target'];
      return isCloudWatchTarget(target) ? routeCloudWatch(ctx, req, target) : undefined;
    }
    default: {
      const never: never = service;
      throw new Error(`unknown service ${String(never)}`);
    }
  }
}

async function readBody(req: IncomingMessage, limit: number): Promise<{ body: Buffer; size: number }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    // Keep draining past the limit so the client reads our 413 instead of a reset connection.
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  return { body: Buffer.concat(chunks), size };
}

function write(res: ServerResponse, response: ApiResponse): void {
  res.writeHead(response.status, { 'x-amzn-requestid': randomUUID(), ...(response.headers ?? {}) });
  res.end(response.body);
}

interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
}

async function serve(
  ctx: StandInContext,
  faults: ReturnType<typeof createFaults>,
  keys: Keys,
  incoming: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(incoming.url ?? '/', 'http://127.0.0.1');
  if (incoming.method === 'GET' && (url.pathname.startsWith('/__code/') || url.pathname.startsWith('/__layer/'))) {
    return serveCodeLocation(ctx, url, res);
  }
  const isLambdaPath = /^\/20\d\d-\d\d-\d\d\//.test(url.pathname);
  const { body, size } = await readBody(incoming, isLambdaPath ? LAMBDA_BODY_LIMIT : OTHER_BODY_LIMIT);
  const req: ApiRequest = { method: incoming.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: incoming.headers, body };
  const auth = parseAuthorization(incoming.headers.authorization);
  const service = serviceOf(req, typeof auth === 'object' ? auth.service : undefined);
  if (service === 's3') {
    res.writeHead(400, { 'content-type': 'application/xml' });
    res.end('<Error><Code>InvalidRequest</Code><Message>S3 is not served by the AWS stand-in; set AWS_ENDPOINT_URL_S3 to the s3rver endpoint.</Message></Error>');
    return;
  }
  if (service === undefined) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ message: `No AWS API at ${req.method} ${req.path}` }));
    return;
  }
  let call: RoutedCall | undefined;
  let response: ApiResponse;
  let errorCode: string | undefined;
  try {
    checkAuth(service, auth, keys.accessKeyId);
    const complete = size <= (isLambdaPath ? LAMBDA_BODY_LIMIT : OTHER_BODY_LIMIT);
    if (complete && typeof auth === 'object' && !(await signatureMatches(req, auth, keys.secretAccessKey))) {
      throw signatureMismatch(service);
    }
    call = route(ctx, service, req);
    if (!call) throw unknownOperation(service, req);
    if (ctx.withoutActions.has(call.action)) throw new ForeignAnswer({ status: 404, contentType: 'text/plain; charset=utf-8', body: '404 page not found\n' });
    if (size > LAMBDA_BODY_LIMIT && service === 'lambda') {
      throw new AwsError('RequestEntityTooLargeException', `Request must be smaller than ${LAMBDA_BODY_LIMIT} bytes for the ${call.action} operation`, 413);
    }
    if (size > OTHER_BODY_LIMIT && service !== 'lambda') {
      throw new AwsError(service === 'logs' ? 'InvalidParameterException' : service === 'events' ? 'ValidationException' : service === 'monitoring' ? 'InvalidParameterValueException' : 'ValidationError', 'Request is too large.', 400);
    }
    faults.check(service, call.action, call.resource(), ctx.callerArn);
    response = await call.run();
  } catch (error) {
    if (error instanceof ForeignAnswer) {
      // Answered by something in front of the service: the call changed nothing, and no AWS headers.
      const { status, contentType, body: answer } = error.answer;
      ctx.state.calls.push({ service, action: call?.action ?? 'Unknown', write: false, requestBytes: size, status, error: `foreign ${status}` });
      res.writeHead(status, { 'content-type': contentType });
      res.end(answer);
      return;
    }
    if (!(error instanceof AwsError)) throw error;
    errorCode = error.code;
    const rendered = renderError(service, error);
    response = { status: rendered.status, headers: rendered.headers, body: rendered.body };
  }
  const action = call?.action ?? 'Unknown';
  ctx.state.calls.push({
    service,
    action,
    write: !/^(Get|List|Describe|Filter)/.test(action),
    requestBytes: size,
    status: response.status,
    ...(errorCode === undefined ? {} : { error: errorCode }),
  });
  write(res, response);
}

/** Services speaking a JSON protocol; the JSON 1.1 ones (CloudWatch Logs, EventBridge) answer auth failures with 400. */
const isJson = (service: AwsServiceName): boolean => service === 'lambda' || service === 'logs' || service === 'events' || service === 'monitoring';
const isJson11 = (service: AwsServiceName): boolean => service === 'logs' || service === 'events';

function signatureMismatch(service: AwsServiceName): AwsError {
  const json = isJson(service);
  return new AwsError(
    json ? 'InvalidSignatureException' : 'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key ' +
      'and signing method. Consult the service documentation for details.',
    isJson11(service) ? 400 : 403,
  );
}

function checkAuth(service: AwsServiceName, auth: ParsedAuthorization | 'missing' | 'incomplete', accessKeyId: string): void {
  const json = isJson(service);
  if (auth === 'missing') {
    throw new AwsError(json ? 'MissingAuthenticationTokenException' : 'MissingAuthenticationToken', 'Missing Authentication Token', 403);
  }
  if (auth === 'incomplete') {
    throw new AwsError(
      json ? 'IncompleteSignatureException' : 'IncompleteSignature',
      'Authorization header requires \'Credential\', \'Signature\' and \'SignedHeaders\' parameters in AWS4-HMAC-SHA256 format.',
      403,
    );
  }
  if (auth.accessKeyId !== accessKeyId) {
    throw new AwsError(
      json ? 'UnrecognizedClientException' : 'InvalidClientTokenId',
      'The security token included in the request is invalid.',
      isJson11(service) ? 400 : 403,
    );
  }
}

function unknownOperation(service: AwsServiceName, req: ApiRequest): AwsError {
  return service === 'lambda'
    ? new AwsError('UnknownOperationException', `Unknown operation ${req.method} ${req.path}`, 404)
    : new AwsError('InvalidAction', `Could not find operation for ${req.method} ${req.path}`, 400);
}

/** Code.Location / Content.Location: unsigned GETs of stored zips, like Lambda's presigned S3 URLs. */
function serveCodeLocation(ctx: StandInContext, url: URL, res: ServerResponse): void {
  const [, kind, rawName, rawVersion] = url.pathname.split('/');
  const name = decodeURIComponent(rawName ?? '');
  const version = decodeURIComponent(rawVersion ?? '');
  let zip: Buffer | undefined;
  if (kind === '__code') {
    const fn = ctx.state.functions.get(name);
    zip = (version === '$LATEST' ? fn?.latest : fn?.versions.get(version))?.code.zip;
  } else {
    zip = ctx.state.layers.get(name)?.versions.get(Number(version))?.code.zip;
  }
  if (!zip) {
    res.writeHead(404, { 'content-type': 'application/xml' });
    res.end('<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>');
    return;
  }
  ctx.state.downloads.push(`${name}:${version}`);
  res.writeHead(200, { 'content-type': 'application/zip', 'content-length': String(zip.length) });
  res.end(zip);
}
