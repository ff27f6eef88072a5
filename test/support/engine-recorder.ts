import http from 'node:http';
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * One request to the engine as it went over the wire. The numbers are steps of one counter shared by
 * every exchange, so they order events across requests (which came first); they do not measure time.
 */
export interface EngineExchange {
  method: string;
  /** The path without the query, e.g. /v1.41/containers/ID/wait. */
  path: string;
  query: URLSearchParams;
  arrived: number;
  /** When the response headers went back to the client. */
  answered?: number;
  status?: number;
  /** 'complete': the answer went back in full (or the upgraded connection was closed by the engine); 'dropped': the client closed the request first. */
  ended?: 'complete' | 'dropped';
  endedAt?: number;
}

/** An answer given in the engine's place: the request never reaches the engine. */
export interface Answer {
  status: number;
  /** Sent as JSON, as the engine sends its errors: `{ message }`. */
  body: unknown;
}

export interface RecorderOptions {
  /**
   * Called as each request arrives, before it is passed on: it may hold the request back (return a
   * promise) or answer it itself.
   */
  intercept?: (exchange: EngineExchange) => Answer | undefined | Promise<Answer | undefined>;
}

export interface EngineRecorder {
  dockerHost: string;
  exchanges: EngineExchange[];
  /** Exchanges for `/containers/{id}/{action}`, in arrival order. */
  forContainer(action: string): EngineExchange[];
  /** Exchanges neither answered in full nor dropped by the client. */
  open(): EngineExchange[];
  close(): Promise<void>;
}

/**
 * A proxy in front of a container engine's socket that passes the Docker API through (hijacked attach
 * connections included) and records each request: what was asked, in which order, and how it ended.
 * It shows what a client does on the wire, such as a request left hanging; `intercept` puts a fault in.
 */
export async function startEngineRecorder(targetSocket: string, options: RecorderOptions = {}): Promise<EngineRecorder> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-engine-recorder-'));
  const socket = path.join(dir, 'engine.sock');
  const agent = new http.Agent({ keepAlive: false });
  const exchanges: EngineExchange[] = [];
  const connections = new Set<net.Socket>();
  let counter = 0;
  const step = () => ++counter;

  const record = (req: http.IncomingMessage): EngineExchange => {
    const url = new URL(req.url ?? '/', 'http://engine');
    const exchange: EngineExchange = { method: req.method ?? '', path: url.pathname, query: url.searchParams, arrived: step() };
    exchanges.push(exchange);
    return exchange;
  };
  const answered = (exchange: EngineExchange, status: number | undefined) => {
    exchange.answered = step();
    exchange.status = status;
  };
  const end = (exchange: EngineExchange, how: 'complete' | 'dropped') => {
    if (exchange.ended) return;
    exchange.ended = how;
    exchange.endedAt = step();
  };
  const forward = (req: http.IncomingMessage) =>
    http.request({ socketPath: targetSocket, agent, method: req.method, path: req.url, headers: req.headers });

  const server = http.createServer(async (req, res) => {
    const exchange = record(req);
    let complete = false;
    res.on('close', () => end(exchange, complete && res.writableFinished ? 'complete' : 'dropped'));
    const answer = await options.intercept?.(exchange);
    if (res.closed) return;
    if (answer) {
      answered(exchange, answer.status);
      complete = true;
      res.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer.body));
      return;
    }
    const upstream = forward(req);
    upstream.on('response', (response) => {
      answered(exchange, response.statusCode);
      res.writeHead(response.statusCode ?? 502, response.headers);
      res.flushHeaders();
      response.on('end', () => (complete = true));
      response.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });

  // Attach with stdin: the client asks for an upgrade, and on 101 both sides speak raw bytes.
  server.on('upgrade', async (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const exchange = record(req);
    let engineClosed = false;
    client.on('error', () => client.destroy());
    client.on('close', () => end(exchange, engineClosed ? 'complete' : 'dropped'));
    const answer = await options.intercept?.(exchange);
    if (client.destroyed) return;
    const reply = (status: number, message: string, headers: http.IncomingHttpHeaders, body: Buffer) => {
      answered(exchange, status);
      const lines = [`HTTP/1.1 ${status} ${message}`];
      for (const [name, value] of Object.entries(headers)) {
        if (['transfer-encoding', 'content-length', 'connection'].includes(name)) continue;
        for (const one of [value ?? []].flat()) lines.push(`${name}: ${one}`);
      }
      lines.push(`Content-Length: ${body.length}`, 'Connection: close');
      engineClosed = true;
      client.end(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), body]));
    };
    if (answer) {
      reply(answer.status, 'Stand-in', { 'content-type': 'application/json' }, Buffer.from(JSON.stringify(answer.body)));
      return;
    }
    const upstream = forward(req);
    upstream.on('upgrade', (response, engine: net.Socket, engineHead: Buffer) => {
      answered(exchange, response.statusCode);
      const lines = [`HTTP/1.1 ${response.statusCode} ${response.statusMessage}`];
      for (let i = 0; i < response.rawHeaders.length; i += 2) lines.push(`${response.rawHeaders[i]}: ${response.rawHeaders[i + 1]}`);
      client.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (engineHead.length > 0) client.write(engineHead);
      engine.pipe(client);
      client.pipe(engine);
      engine.on('close', () => {
        engineClosed = true;
        client.destroy();
      });
      engine.on('error', () => client.destroy());
      client.on('close', () => engine.destroy());
    });
    // Refused (a 409 for a container that cannot start): an ordinary response, passed back whole.
    upstream.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => reply(response.statusCode ?? 502, response.statusMessage ?? '', response.headers, Buffer.concat(chunks)));
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    if (head.length > 0) upstream.write(head);
    upstream.end();
  });

  server.on('connection', (connection: net.Socket) => {
    connections.add(connection);
    connection.on('close', () => connections.delete(connection));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, resolve);
  });

  return {
    dockerHost: `unix://${socket}`,
    exchanges,
    forContainer: (action) => exchanges.filter((exchange) => new RegExp(`/containers/[^/]+/${action}$`).test(exchange.path)),
    open: () => exchanges.filter((exchange) => !exchange.ended),
    async close() {
      for (const connection of connections) connection.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
