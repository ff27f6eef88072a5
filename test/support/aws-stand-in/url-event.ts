import type { FunctionUrlResponse } from './types.js';

interface RawRequest {
  method: string;
  rawPath: string;
  rawQueryString: string;
  headers: Record<string, string>;
  body: Buffer;
}

interface EventContext {
  accountId: string;
  requestId: string;
  sourceIp: string;
  domainName: string;
}

const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+(json|xml))/i;

/** Builds the payload format 2.0 event a Function URL hands to the handler. */
export function functionUrlEvent(request: RawRequest, context: EventContext): Record<string, unknown> {
  const now = new Date();
  const urlId = context.domainName.split('.')[0] ?? context.domainName;
  const { cookie, ...headers } = request.headers;
  const event: Record<string, unknown> = {
    version: '2.0',
    routeKey: '$default',
    rawPath: request.rawPath,
    rawQueryString: request.rawQueryString,
    headers,
    requestContext: {
      accountId: context.accountId,
      apiId: urlId,
      domainName: context.domainName,
      domainPrefix: urlId,
      http: {
        method: request.method,
        path: request.rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: context.sourceIp,
        userAgent: request.headers['user-agent'] ?? '',
      },
      requestId: context.requestId,
      routeKey: '$default',
      stage: '$default',
      time: clfTime(now),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
  if (cookie !== undefined) event['cookies'] = cookie.split(/;\s*/);
  if (request.rawQueryString !== '') {
    const params: Record<string, string> = {};
    for (const [name, value] of new URLSearchParams(request.rawQueryString)) {
      params[name] = params[name] === undefined ? value : `${params[name]},${value}`;
    }
    event['queryStringParameters'] = params;
  }
  if (request.body.length > 0) {
    const text = TEXT_TYPES.test(request.headers['content-type'] ?? '');
    event['body'] = text ? request.body.toString('utf8') : request.body.toString('base64');
    event['isBase64Encoded'] = !text;
  }
  return event;
}

function clfTime(when: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${pad(when.getUTCDate())}/${months[when.getUTCMonth()]}/${when.getUTCFullYear()}:` +
    `${pad(when.getUTCHours())}:${pad(when.getUTCMinutes())}:${pad(when.getUTCSeconds())} +0000`
  );
}

/**
 * Turns what a handler returned into the HTTP response a Function URL sends, following Lambda's
 * payload format 2.0 rules: an object with statusCode is a response; anything else is a JSON body
 * with status 200.
 */
export function functionUrlResponseFromResult(result: unknown, logs?: string[]): FunctionUrlResponse {
  if (result !== null && typeof result === 'object' && 'statusCode' in result) {
    const shaped = result as {
      statusCode: number;
      headers?: Record<string, string>;
      body?: string;
      isBase64Encoded?: boolean;
      cookies?: string[];
    };
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(shaped.headers ?? {}) };
    if (shaped.cookies?.length) headers['set-cookie'] = shaped.cookies.join(', ');
    const body = shaped.body === undefined ? '' : shaped.isBase64Encoded ? Buffer.from(shaped.body, 'base64') : shaped.body;
    return { statusCode: shaped.statusCode, headers, body, logs };
  }
  const body = typeof result === 'string' ? result : JSON.stringify(result ?? null);
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body, logs };
}
