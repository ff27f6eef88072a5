import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatRequestTime, isTextContentType, toFunctionUrlEvent, toHttpResponse, type HttpRequestParts,
} from '../../src/runtime/function-url-event.js';

function request(overrides: Partial<HttpRequestParts> = {}): HttpRequestParts {
  return {
    method: 'POST',
    target: '/predict',
    rawHeaders: ['Host', '127.0.0.1:3000', 'User-Agent', 'curl/8.0', 'Content-Type', 'application/json'],
    body: Buffer.from('{"age":41}'),
    sourceIp: '127.0.0.1',
    protocol: 'HTTP/1.1',
    requestId: '0b1f8c1e-7f3a-4c1e-9d2b-1a2b3c4d5e6f',
    now: new Date(Date.UTC(2020, 2, 12, 19, 3, 58, 390)),
    urlId: 'abc123',
    region: 'eu-west-1',
    ...overrides,
  };
}

describe('toFunctionUrlEvent', () => {
  it('builds a payload 2.0 event with the Function URL request context', () => {
    const event = toFunctionUrlEvent(request());
    assert.equal(event.version, '2.0');
    assert.equal(event.routeKey, '$default');
    assert.equal(event.rawPath, '/predict');
    assert.equal(event.rawQueryString, '');
    assert.equal(event.queryStringParameters, undefined);
    assert.equal(event.cookies, undefined);
    assert.equal(event.body, '{"age":41}');
    assert.equal(event.isBase64Encoded, false);
    assert.deepEqual(event.requestContext, {
      accountId: 'anonymous',
      apiId: 'abc123',
      domainName: 'abc123.lambda-url.eu-west-1.on.aws',
      domainPrefix: 'abc123',
      http: { method: 'POST', path: '/predict', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'curl/8.0' },
      requestId: '0b1f8c1e-7f3a-4c1e-9d2b-1a2b3c4d5e6f',
      routeKey: '$default',
      stage: '$default',
      time: '12/Mar/2020:19:03:58 +0000',
      timeEpoch: Date.UTC(2020, 2, 12, 19, 3, 58, 390),
    });
  });

  it('lowercases headers, joins repeated ones with commas and moves cookies out', () => {
    const event = toFunctionUrlEvent(request({
      rawHeaders: ['X-Trace', 'a', 'Accept', 'text/html', 'x-trace', 'b', 'Cookie', 'session=1; theme=dark', 'Content-Type', 'application/json'],
    }));
    assert.equal(event.headers['x-trace'], 'a,b');
    assert.equal(event.headers.accept, 'text/html');
    assert.equal(event.headers.cookie, undefined);
    assert.deepEqual(event.cookies, ['session=1', 'theme=dark']);
    assert.equal(event.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(event.headers['x-forwarded-proto'], 'http');
    assert.ok(Object.keys(event.headers).every((name) => name === name.toLowerCase()));
  });

  it('keeps the raw query string and joins repeated parameters', () => {
    const event = toFunctionUrlEvent(request({ method: 'GET', target: '/search?q=a%20b&tag=1&tag=2&empty=', body: Buffer.alloc(0) }));
    assert.equal(event.rawPath, '/search');
    assert.equal(event.requestContext.http.path, '/search');
    assert.equal(event.rawQueryString, 'q=a%20b&tag=1&tag=2&empty=');
    assert.deepEqual(event.queryStringParameters, { q: 'a b', tag: '1,2', empty: '' });
    assert.equal('body' in event, false, 'no body key for an empty body');
    assert.equal(event.isBase64Encoded, false);
  });

  it('base64-encodes bodies that are not text', () => {
    const bytes = Buffer.from([0, 255, 1, 2, 3]);
    const binary = toFunctionUrlEvent(request({ rawHeaders: ['Content-Type', 'application/octet-stream'], body: bytes }));
    assert.equal(binary.isBase64Encoded, true);
    assert.equal(binary.body, bytes.toString('base64'));
    const untyped = toFunctionUrlEvent(request({ rawHeaders: [], body: Buffer.from('{"a":1}') }));
    assert.equal(untyped.isBase64Encoded, true);
    assert.equal(Buffer.from(untyped.body!, 'base64').toString(), '{"a":1}');
    const form = toFunctionUrlEvent(request({ rawHeaders: ['Content-Type', 'application/x-www-form-urlencoded'], body: Buffer.from('a=1') }));
    assert.equal(form.isBase64Encoded, true);
  });

  it('classifies text content types', () => {
    for (const type of ['application/json', 'application/json; charset=utf-8', 'text/plain', 'text/csv;charset=utf-8', 'application/problem+json', 'application/xml', 'image/svg+xml']) {
      assert.equal(isTextContentType(type), true, type);
    }
    for (const type of [undefined, '', 'application/octet-stream', 'image/png', 'multipart/form-data; boundary=x', 'application/jsonx']) {
      assert.equal(isTextContentType(type), false, String(type));
    }
  });

  it('formats the request time like API Gateway', () => {
    assert.equal(formatRequestTime(new Date(Date.UTC(2021, 8, 7, 2, 5, 9))), '07/Sep/2021:02:05:09 +0000');
  });
});

describe('toHttpResponse', () => {
  it('sends a plain value as JSON with status 200', () => {
    const object = toHttpResponse({ result: { probability: 0.2 } });
    assert.equal(object.statusCode, 200);
    assert.deepEqual(object.headers, [['content-type', 'application/json']]);
    assert.equal(object.body.toString(), '{"probability":0.2}');
    assert.equal(toHttpResponse({ result: 'Hello, world!' }).body.toString(), '"Hello, world!"');
    assert.equal(toHttpResponse({ result: [1, 2] }).body.toString(), '[1,2]');
    assert.equal(toHttpResponse({ result: null }).body.toString(), 'null');
  });

  it('uses statusCode, headers, cookies and body of a response object', () => {
    const response = toHttpResponse({
      result: { statusCode: 201, headers: { 'Content-Type': 'text/plain', 'X-Count': 3 }, cookies: ['a=1; Max-Age=60', 'b=2'], body: 'created' },
    });
    assert.equal(response.statusCode, 201);
    assert.deepEqual(response.headers, [['content-type', 'text/plain'], ['x-count', '3'], ['set-cookie', 'a=1; Max-Age=60'], ['set-cookie', 'b=2']]);
    assert.equal(response.body.toString(), 'created');
  });

  it('decodes a base64 body and defaults the content type to JSON', () => {
    const bytes = Buffer.from([137, 80, 78, 71]);
    const png = toHttpResponse({ result: { statusCode: 200, headers: { 'content-type': 'image/png' }, body: bytes.toString('base64'), isBase64Encoded: true } });
    assert.deepEqual(png.body, bytes);
    const bare = toHttpResponse({ result: { statusCode: 400, body: '{"error":"age"}' } });
    assert.equal(bare.statusCode, 400);
    assert.deepEqual(bare.headers, [['content-type', 'application/json']]);
    assert.equal(bare.body.toString(), '{"error":"age"}');
    assert.equal(toHttpResponse({ result: { statusCode: 204 } }).body.length, 0);
  });

  it('answers 502 for a function error or an invalid response object', () => {
    for (const outcome of [
      { error: { errorType: 'ValueError', errorMessage: 'x' } },
      { result: { statusCode: 'abc' } },
      { result: { statusCode: 999 } },
      { result: { statusCode: 200, headers: 'x' } },
      { result: { statusCode: 200, cookies: 'a=1' } },
    ]) {
      const response = toHttpResponse(outcome);
      assert.equal(response.statusCode, 502, JSON.stringify(outcome));
      assert.deepEqual(JSON.parse(response.body.toString()), { Message: 'Internal Server Error' });
    }
  });
});
