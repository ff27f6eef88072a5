/**
 * The translation a Lambda Function URL performs: an HTTP request into a payload format 2.0 event,
 * and the function's result back into an HTTP response. Pure, so that the exact shapes are unit-tested.
 */

/** An HTTP request as the server received it. */
export interface HttpRequestParts {
  method: string;
  /** The request target as sent: path and query, e.g. `/predict?explain=1`. */
  target: string;
  /** Node's `rawHeaders`: name, value, name, value... in arrival order. */
  rawHeaders: readonly string[];
  body: Buffer;
  sourceIp: string;
  /** e.g. `HTTP/1.1`. */
  protocol: string;
  requestId: string;
  now: Date;
  /** The Function URL's id: `apiId` and `domainPrefix`. */
  urlId: string;
  region: string;
}

/** The event a Function URL delivers to the function (payload format 2.0). */
export interface FunctionUrlEvent {
  version: '2.0';
  routeKey: '$default';
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  requestContext: {
    accountId: string;
    apiId: string;
    domainName: string;
    domainPrefix: string;
    http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
    requestId: string;
    routeKey: '$default';
    stage: '$default';
    time: string;
    timeEpoch: number;
  };
  body?: string;
  isBase64Encoded: boolean;
}

/** An HTTP response to send; `headers` is a list so that several set-cookie lines survive. */
export interface HttpResponseParts {
  statusCode: number;
  headers: [string, string][];
  body: Buffer;
}

const TEXT_TYPES = /^(text\/[^;]+|application\/(json|javascript|ecmascript|xml|x-yaml|yaml|graphql)|[a-z]+\/[^;]+\+(json|xml))\s*(;|$)/i;

/** True when Function URLs pass a body of this content type as text rather than base64. */
export function isTextContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && TEXT_TYPES.test(contentType.trim());
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `12/Mar/2020:19:03:58 +0000`, the requestContext.time format. */
export function formatRequestTime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`;
}

export function toFunctionUrlEvent(request: HttpRequestParts): FunctionUrlEvent {
  const queryAt = request.target.indexOf('?');
  const rawPath = queryAt === -1 ? request.target : request.target.slice(0, queryAt);
  const rawQueryString = queryAt === -1 ? '' : request.target.slice(queryAt + 1);

  // Repeated headers are joined with commas; cookies move to their own list, as Function URLs do.
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i]!.toLowerCase();
    const value = request.rawHeaders[i + 1]!;
    if (name === 'cookie') {
      cookies.push(...value.split(';').map((c) => c.trim()).filter(Boolean));
      continue;
    }
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  headers['x-forwarded-for'] ??= request.sourceIp;
  headers['x-forwarded-proto'] ??= 'http';
  headers['x-amzn-trace-id'] ??= `Root=1-${Math.floor(request.now.getTime() / 1000).toString(16)}-${request.requestId.replaceAll('-', '').slice(0, 24)}`;

  const query: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(rawQueryString)) {
    query[key] = key in query ? `${query[key]},${value}` : value;
  }

  const domainName = `${request.urlId}.lambda-url.${request.region}.on.aws`;
  const event: FunctionUrlEvent = {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    ...(cookies.length ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: 'anonymous',
      apiId: request.urlId,
      domainName,
      domainPrefix: request.urlId,
      http: { method: request.method, path: rawPath, protocol: request.protocol, sourceIp: request.sourceIp, userAgent: headers['user-agent'] ?? '' },
      requestId: request.requestId,
      routeKey: '$default',
      stage: '$default',
      time: formatRequestTime(request.now),
      timeEpoch: request.now.getTime(),
    },
    isBase64Encoded: false,
  };
  if (request.body.length > 0) {
    const text = isTextContentType(headers['content-type']);
    event.body = text ? request.body.toString('utf8') : request.body.toString('base64');
    event.isBase64Encoded = !text;
  }
  return event;
}

function jsonResponse(statusCode: number, value: unknown): HttpResponseParts {
  return { statusCode, headers: [['content-type', 'application/json']], body: Buffer.from(JSON.stringify(value)) };
}

/** What a Function URL answers when the function fails (an error, a timeout, an invalid result). */
export function internalServerError(): HttpResponseParts {
  return jsonResponse(502, { Message: 'Internal Server Error' });
}

/** What a Function URL answers when the request does not fit Lambda's 6 MB payload limit. */
export function requestTooLarge(limit: number): HttpResponseParts {
  return jsonResponse(413, { Message: `Request must be smaller than ${limit} bytes for the InvokeFunction operation` });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The HTTP response for a function's outcome. An object with `statusCode` is a response description
 * (headers, cookies, body, isBase64Encoded); any other value is sent as JSON with status 200.
 * Payload 2.0 has no multiValueHeaders: like Function URLs, they are ignored.
 */
export function toHttpResponse(outcome: { result?: unknown; error?: unknown }): HttpResponseParts {
  if (outcome.error !== undefined) return internalServerError();
  const result = outcome.result;
  if (!isRecord(result) || !('statusCode' in result)) return jsonResponse(200, result ?? null);

  const statusCode = Number(result.statusCode);
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) return internalServerError();
  const headers: [string, string][] = [];
  if (result.headers !== undefined && !isRecord(result.headers)) return internalServerError();
  for (const [name, value] of Object.entries(result.headers ?? {})) {
    if (value === null || value === undefined) continue;
    if (typeof value === 'object') return internalServerError();
    headers.push([name.toLowerCase(), String(value)]);
  }
  if (!headers.some(([name]) => name === 'content-type')) headers.push(['content-type', 'application/json']);
  if (result.cookies !== undefined) {
    if (!Array.isArray(result.cookies)) return internalServerError();
    for (const cookie of result.cookies) headers.push(['set-cookie', String(cookie)]);
  }
  let body: Buffer;
  if (result.body === undefined || result.body === null) body = Buffer.alloc(0);
  else if (typeof result.body === 'string') body = result.isBase64Encoded === true ? Buffer.from(result.body, 'base64') : Buffer.from(result.body);
  else body = Buffer.from(JSON.stringify(result.body));
  return { statusCode, headers, body };
}
