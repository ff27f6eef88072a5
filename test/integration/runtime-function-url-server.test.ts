import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFunctionUrlServer, type FunctionUrlServer, type ServedRequest } from '../../src/runtime/function-url-server.js';
import { LocalFunction } from '../../src/runtime/local-function.js';

const fixtures = path.resolve('test/fixtures/runtime');

describe('Function URL server in front of a real python3 echo function', () => {
  const fn = new LocalFunction({ codeDir: fixtures, handler: 'handlers.echo' });
  let server: FunctionUrlServer;
  const served: ServedRequest[] = [];

  before(async () => {
    await fn.start();
    server = await startFunctionUrlServer({ fn, port: 0, onRequest: (r) => served.push(r) });
  });
  after(async () => {
    await server?.close();
    await fn.stop();
  });

  it('listens on loopback and delivers a payload 2.0 event', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${server.url}/predict?explain=1&x=a&x=b`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-custom': 'yes', cookie: 'k=v' },
      body: JSON.stringify({ age: 41 }),
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/json');
    const requestId = response.headers.get('x-amzn-requestid');
    const event = (await response.json()) as any;
    assert.equal(event.version, '2.0');
    assert.equal(event.rawPath, '/predict');
    assert.equal(event.rawQueryString, 'explain=1&x=a&x=b');
    assert.deepEqual(event.queryStringParameters, { explain: '1', x: 'a,b' });
    assert.equal(event.requestContext.http.method, 'POST');
    assert.equal(event.requestContext.http.sourceIp, '127.0.0.1');
    assert.equal(event.requestContext.requestId, requestId);
    assert.equal(event.headers['x-custom'], 'yes');
    assert.deepEqual(event.cookies, ['k=v']);
    assert.equal(event.body, '{"age":41}');
    assert.equal(event.isBase64Encoded, false);
    const last = served.at(-1)!;
    assert.deepEqual([last.method, last.path, last.statusCode], ['POST', '/predict', 200]);
  });

  it('base64-encodes a binary body', async () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const response = await fetch(`${server.url}/upload`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    const event = (await response.json()) as any;
    assert.equal(event.isBase64Encoded, true);
    assert.deepEqual([...Buffer.from(event.body, 'base64')], [...bytes]);
    assert.equal(event.requestContext.http.method, 'PUT');
  });

  it('answers 413 for a body over 6 MB without invoking the function', async () => {
    const before = served.length;
    const response = await fetch(`${server.url}/predict`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(6 * 1024 * 1024 + 1),
    });
    assert.equal(response.status, 413);
    assert.match(((await response.json()) as { Message: string }).Message, /smaller than 6291456 bytes/);
    assert.equal(served.length, before + 1);
  });

  it('answers 413 when base64 pushes the event over 6 MB', async () => {
    const response = await fetch(`${server.url}/predict`, {
      method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(5 * 1024 * 1024),
    });
    assert.equal(response.status, 413);
  });
});

describe('Function URL server result translation', () => {
  const servers: FunctionUrlServer[] = [];
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });
  async function serve(invoke: (event: any) => Promise<{ result?: unknown; error?: unknown }>): Promise<string> {
    const server = await startFunctionUrlServer({ fn: { invoke } });
    servers.push(server);
    return server.url;
  }

  it('turns a response object into status, headers, cookies and body', async () => {
    const url = await serve(async () => ({
      result: { statusCode: 422, headers: { 'Content-Type': 'application/json', 'X-Reason': 'age' }, cookies: ['a=1', 'b=2'], body: '{"error":"age must be a number"}' },
    }));
    const response = await fetch(url);
    assert.equal(response.status, 422);
    assert.equal(response.headers.get('x-reason'), 'age');
    assert.deepEqual(response.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.deepEqual(await response.json(), { error: 'age must be a number' });
  });

  it('decodes a base64 response body', async () => {
    const url = await serve(async () => ({ result: { statusCode: 200, headers: { 'content-type': 'image/png' }, body: Buffer.from([1, 2, 3]).toString('base64'), isBase64Encoded: true } }));
    const response = await fetch(url);
    assert.equal(response.headers.get('content-type'), 'image/png');
    assert.deepEqual([...new Uint8Array(await response.arrayBuffer())], [1, 2, 3]);
  });

  it('sends any other value as JSON with status 200', async () => {
    const url = await serve(async () => ({ result: [{ probability: 0.25 }] }));
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/json');
    assert.deepEqual(await response.json(), [{ probability: 0.25 }]);
  });

  it('answers 502 Internal Server Error when the function fails or cannot be invoked', async () => {
    const failing = await serve(async () => ({ error: { errorType: 'ValueError', errorMessage: 'boom' } }));
    const failed = await fetch(failing);
    assert.equal(failed.status, 502);
    assert.deepEqual(await failed.json(), { Message: 'Internal Server Error' });
    const throwing = await serve(async () => {
      throw new Error('process gone');
    });
    assert.equal((await fetch(throwing)).status, 502);
  });

  it('answers 502 for a real Python handler that raises', async () => {
    const fn = new LocalFunction({ codeDir: fixtures, handler: 'handlers.fail' });
    try {
      const url = await serve((event) => fn.invoke(event));
      const response = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(response.status, 502);
      assert.deepEqual(await response.json(), { Message: 'Internal Server Error' });
    } finally {
      await fn.stop();
    }
  });

  it('refuses to listen on a non-loopback address', async () => {
    await assert.rejects(startFunctionUrlServer({ fn: { invoke: async () => ({}) }, host: '0.0.0.0' }), /SERVE_NOT_LOOPBACK|Refusing/);
  });

  it('names a port already in use', async () => {
    const first = await startFunctionUrlServer({ fn: { invoke: async () => ({}) } });
    servers.push(first);
    await assert.rejects(startFunctionUrlServer({ fn: { invoke: async () => ({}) }, port: first.port }), /EADDRINUSE/);
  });
});
