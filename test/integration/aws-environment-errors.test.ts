import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { GetFunctionCommand } from '@aws-sdk/client-lambda';
import { createAwsClients } from '../../src/aws/resources/clients.js';
import { smokeTest } from '../../src/aws/stages/smoke-test.js';
import { PipeError } from '../../src/errors.js';
import { makeProject, runPipe } from '../support/cli.js';
import { LineReporter, startHarness, type Harness } from '../support/deploy-harness.js';
import { deployStage } from '../../src/aws/stages/deploy.js';

/** A port on 127.0.0.1 that nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const STACK_LINE = /^\s+at .+\(.+:\d+:\d+\)$/m;

/** Credentials from the environment only: no profile, no instance metadata. */
const isolatedAws = (root: string) => ({
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'secret',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_SHARED_CREDENTIALS_FILE: path.join(root, 'no-credentials'),
  AWS_CONFIG_FILE: path.join(root, 'no-config'),
});

describe('network trouble on the way to AWS is the user\'s environment, said in words', () => {
  // In-process SDK clients read credentials from the environment: set for this suite only.
  const saved = { ...process.env };
  let home: string;
  before(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'pipe-aws-env-'));
    Object.assign(process.env, isolatedAws(home));
  });
  after(async () => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    await rm(home, { recursive: true, force: true });
  });

  it('a refused connection names the service, the endpoint, the cause and the override', async () => {
    const port = await closedPort();
    const endpoint = `http://127.0.0.1:${port}`;
    const clients = createAwsClients({ region: 'us-east-1', endpoints: { lambda: endpoint } });
    try {
      const error = await clients.lambda.send(new GetFunctionCommand({ FunctionName: 'credit-dev' })).then(() => assert.fail('expected a failure'), (e: unknown) => e);
      assert.ok(error instanceof PipeError && error.userError, String(error));
      assert.equal(error.code, 'AWS_UNREACHABLE');
      assert.match(error.message, new RegExp(`^Could not reach AWS Lambda at ${endpoint} \\(lambda:GetFunction\\): connection refused`));
      assert.match(error.message, new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
      assert.match(error.hint ?? '', /aws\.endpoints\.lambda in pipeline\.config\.ts/);
    } finally {
      clients.destroy();
    }
  });

  it('a server that accepts and never answers is a timeout after the attempts, not a hang', { timeout: 20_000 }, async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const clients = createAwsClients({ region: 'us-east-1', endpoints: { lambda: endpoint }, timeouts: { connectMs: 2000, idleMs: 300 }, maxAttempts: 2 });
    try {
      const started = Date.now();
      const error = await clients.lambda.send(new GetFunctionCommand({ FunctionName: 'credit-dev' })).then(() => assert.fail('expected a failure'), (e: unknown) => e);
      assert.ok(error instanceof PipeError && error.code === 'AWS_UNREACHABLE', String(error));
      assert.match(error.message, new RegExp(`^Could not reach AWS Lambda at ${endpoint} \\(lambda:GetFunction\\): timed out: .*300 ms of inactivity`));
      assert.match(error.hint ?? '', /dropping connections/);
      assert.equal(sockets.length, 2, 'one connection per attempt');
      assert.ok(Date.now() - started < 10_000, `gave up after ${Date.now() - started} ms`);
    } finally {
      clients.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  describe('a certificate Node does not trust', () => {
    let dir: string;
    let server: ReturnType<typeof createHttpsServer>;
    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-tls-'));
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', '/CN=127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
      server = createHttpsServer({ key: await readFile(path.join(dir, 'key.pem')), cert: await readFile(path.join(dir, 'cert.pem')) }, (_req, res) => res.end('{}'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    after(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    });

    it('says the certificate was not accepted and how to give Node a CA', async () => {
      const endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const clients = createAwsClients({ region: 'us-east-1', endpoints: { lambda: endpoint } });
      try {
        const error = await clients.lambda.send(new GetFunctionCommand({ FunctionName: 'f' })).then(() => assert.fail('expected a failure'), (e: unknown) => e);
        assert.ok(error instanceof PipeError && error.code === 'AWS_UNREACHABLE', String(error));
        assert.match(error.message, /TLS certificate not accepted: self[- ]signed certificate/);
        assert.match(error.hint ?? '', /NODE_EXTRA_CA_CERTS/);
      } finally {
        clients.destroy();
      }
    });
  });

  it('the smoke test shows what failed under "fetch failed", and keeps it as the cause', async () => {
    const port = await closedPort();
    const target = { url: `http://127.0.0.1:${port}/`, auth: 'NONE' as const, what: 'version 1 (candidate)', hint: 'live still serves version 0.' };
    const error = await smokeTest(target, { region: 'us-east-1', example: {}, reporter: new LineReporter() }).then(() => assert.fail('expected a failure'), (e: unknown) => e);
    assert.ok(error instanceof PipeError && error.code === 'SMOKE_TEST_FAILED', String(error));
    assert.match(error.message, new RegExp(`GET /health could not connect: connection refused .*connect ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
    assert.equal((error.cause as { code?: string }).code, 'ECONNREFUSED');
  });

  describe('through the CLI', () => {
    let dir: string;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ dir, cleanup } = await makeProject({ 'pipeline.config.ts': "export default { app: 'credit', runtime: 'python3.11' };\n" }));
    });
    after(() => cleanup());

    it('an unreachable endpoint exits 1 with message and hint, no stack, no "bug in pipe"; --verbose adds the stack', async () => {
      const port = await closedPort();
      const env = { ...isolatedAws(dir), AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` };
      const r = await runPipe(['status'], { cwd: dir, env });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`error: Could not reach AWS STS at http://127\\.0\\.0\\.1:${port} \\(sts:GetCallerIdentity\\): connection refused`));
      assert.match(r.stderr, /hint: The endpoint comes from AWS_ENDPOINT_URL/);
      assert.doesNotMatch(r.stderr, /bug in pipe/);
      assert.doesNotMatch(r.stderr, STACK_LINE);
      const verbose = await runPipe(['status', '--verbose'], { cwd: dir, env });
      assert.equal(verbose.code, 1);
      assert.match(verbose.stderr, STACK_LINE);
    });
  });
});

describe('an error answer that is not an AWS error (a proxy\'s XML 403)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const proxy403 = { status: 403, contentType: 'application/xml', body: '<?xml version="1.0"?><Error><Code>Forbidden</Code><Message>Blocked by policy</Message></Error>' };

  it('is judged by its status: access denied, naming the action and the resource', async () => {
    h = await startHarness();
    await h.writePackage();
    h.standIn.faults.foreignAnswer('lambda:GetFunction', proxy403);
    const error = await deployStage({ config: h.config, clients: h.clients(), reporter: new LineReporter() }).then(() => assert.fail('expected a failure'), (e: unknown) => e);
    assert.ok(error instanceof PipeError && error.code === 'AWS_ACCESS_DENIED', String(error));
    assert.match(error.message, /^Access denied: lambda:GetFunction on function credit-dev \(http:\/\/127\.0\.0\.1:\d+ answered HTTP 403 with a body that is not AWS Lambda's error format \(application\/xml\)\)$/);
    assert.match(error.hint ?? '', /proxy/);
    const last = h.standIn.state.calls.at(-1);
    assert.deepEqual([last?.action, last?.error], ['GetFunction', 'foreign 403'], 'deploy stopped at the refused call');
  });

  it('through the CLI: exit 1, message and hint, no JSON parse error and no "bug in pipe"', async () => {
    h = await startHarness();
    await writeFile(path.join(h.root, 'pipeline.config.ts'), "export default { app: 'credit', runtime: 'python3.11', stages: { dev: {}, prod: {} } };\n");
    h.standIn.faults.foreignAnswer('lambda:GetFunction', proxy403);
    const r = await runPipe(['status'], { cwd: h.root });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /error: (status: )?Access denied: lambda:GetFunction on function credit-dev/);
    assert.match(r.stderr, /hint: An answer like this comes from a proxy/);
    assert.doesNotMatch(r.stderr, /Unexpected token|bug in pipe/);
    assert.doesNotMatch(r.stderr, STACK_LINE);
  });
});
