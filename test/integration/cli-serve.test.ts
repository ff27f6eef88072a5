import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { processAlive } from '../../src/util/process-alive.js';
import { PIPE_BIN, runPipe, startPipe, until } from '../support/cli.js';
import { makeFakeFunctionProject } from '../support/fake-function-project.js';

interface ServeState {
  url: string;
  pid: number;
}

async function stateOf(dir: string): Promise<ServeState | undefined> {
  const text = await readFile(path.join(dir, 'build/serve.json'), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as ServeState);
}

/** Ends a process this test started, if a failed assertion left it running. */
function stop(pid: number | undefined): void {
  if (pid !== undefined && processAlive(pid)) process.kill(pid, 'SIGINT');
}

/** The fake function project, packaged (its environments shared with the other packaged fake projects). */
async function packagedFakeProject(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const project = await makeFakeFunctionProject({}, { sharedEnv: true });
  const r = await runPipe(['package'], { cwd: project.dir });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return project;
}

const reachable = (url: string): Promise<boolean> => fetch(new URL('/health', url)).then(() => true, () => false);

describe('pipe serve, invoke and clean through the CLI', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await packagedFakeProject());
  });
  after(() => cleanup());

  it('serve --port abc exits 2 naming the value, before planning anything', async () => {
    const r = await runPipe(['serve', '--port', 'abc'], { cwd: dir });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /--port expects a number, got "abc"/);
    assert.doesNotMatch(r.stdout, /plan:/);
    const range = await runPipe(['serve', '--port', '70000'], { cwd: dir });
    assert.equal(range.code, 2);
    assert.match(range.stderr, /--port must be an integer from 0 to 65535, got 70000/);
    assert.doesNotMatch(range.stdout, /plan:/);
  });

  it('invoke without arguments POSTs the model card example to /predict; clean keeps a running serve', async () => {
    const serve = startPipe(['serve', '--port', '0'], { cwd: dir });
    let pid = serve.child.pid;
    try {
      await until(async () => (await stateOf(dir)) !== undefined, 60_000, 'serve to write its state');
      const state = (await stateOf(dir))!;
      pid = state.pid;
      const invoked = await runPipe(['invoke'], { cwd: dir });
      assert.equal(invoked.code, 0, invoked.stdout + invoked.stderr);
      assert.ok(invoked.stdout.includes(`POST ${state.url}/predict`), invoked.stdout);
      assert.match(invoked.stdout, /HTTP 200/);
      assert.match(invoked.stdout, /"received": \{\s+"age": 47,\s+"income": 5200\s+\}/);

      const cleaned = await runPipe(['clean'], { cwd: dir });
      assert.equal(cleaned.code, 0, cleaned.stderr);
      assert.match(cleaned.stdout, /kept build\/serve and build\/serve\.json: pipe serve is running/);
      assert.equal(existsSync(path.join(dir, 'build/package')), false, 'the package itself is removed');
      const all = await runPipe(['clean', '--all', '--yes'], { cwd: dir });
      assert.equal(all.code, 0, all.stderr);
      for (const gone of ['artifacts', '.pipe/state']) assert.equal(existsSync(path.join(dir, gone)), false, gone);
      assert.deepEqual((await readdir(path.join(dir, 'build'))).sort(), ['serve', 'serve.json'], 'only the running serve is kept');
      assert.deepEqual(await stateOf(dir), state, "serve's state is kept");
      const again = await runPipe(['invoke', '--path', '/health'], { cwd: dir });
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /"status": "ok"/);
    } finally {
      stop(pid);
      await serve.done;
    }
  });
});

describe('pipe serve checks before building', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let busy: Server;
  before(async () => {
    ({ dir, cleanup } = await makeFakeFunctionProject());
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await new Promise((resolve) => busy.close(resolve));
    await cleanup();
  });

  it('a port in use fails at once, naming it, and builds nothing', async () => {
    const port = (busy.address() as { port: number }).port;
    const r = await runPipe(['serve', '--port', String(port)], { cwd: dir });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`Cannot listen on 127\\.0\\.0\\.1:${port}: another process uses that port`));
    assert.match(r.stderr, /hint: .*--port 0/);
    assert.doesNotMatch(r.stdout, /> env: running/);
    assert.equal(existsSync(path.join(dir, 'build')), false, 'nothing was built');
  });
});

describe('pipe serve under a wrapper (npx)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await packagedFakeProject());
  });
  after(() => cleanup());

  it('stops serving and frees its port when the wrapper is killed alone', async () => {
    // Like npm exec: a parent that starts pipe and dies on SIGTERM without passing it on.
    const wrapper = spawn(process.execPath, ['-e', `require('node:child_process').spawn(process.execPath, ${JSON.stringify([PIPE_BIN, 'serve', '--port', '0'])}, { stdio: 'ignore' }); setInterval(() => {}, 1000);`], {
      cwd: dir,
      env: { ...process.env, CI: 'true' },
      stdio: 'ignore',
    });
    const wrapperExit = new Promise((resolve) => wrapper.once('exit', resolve));
    let pid: number | undefined;
    try {
      await until(async () => (await stateOf(dir)) !== undefined, 60_000, 'serve to write its state');
      const state = (await stateOf(dir))!;
      pid = state.pid;
      assert.notEqual(pid, wrapper.pid);
      assert.equal(await reachable(state.url), true);
      wrapper.kill('SIGTERM');
      await wrapperExit;
      await until(() => !processAlive(state.pid), 15_000, 'the orphaned serve to exit');
      assert.equal(await reachable(state.url), false, 'the port is free');
      assert.equal(existsSync(path.join(dir, 'build/serve.json')), false, 'its state is removed');
    } finally {
      if (wrapper.exitCode === null && wrapper.signalCode === null) wrapper.kill('SIGKILL');
      stop(pid);
    }
  });
});
