import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveConfig } from '../../src/config/resolved.js';
import { createDockerRunner } from '../../src/runners/docker-runner.js';
import { engineSkipReason } from '../support/build-engine.js';
import { brokenEngineSkipReason, startBrokenEngine, type BrokenEngine } from '../support/broken-engine.js';
import { REPO_ROOT, until } from '../support/cli.js';
import { RecordingStepReporter } from '../support/recording-reporter.js';

const SCRIPT = path.join(REPO_ROOT, 'scripts', 'ensure-podman.sh');
// The busybox image the restarted service runs comes from scripts/ensure-build-image.sh, like the build image.
const reason = (await engineSkipReason()) ?? brokenEngineSkipReason();

function runScript(socket: string, log: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('bash', [SCRIPT], { env: { ...process.env, PIPE_PODMAN_SOCKET: socket, PIPE_PODMAN_LOG: log }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe(reason ? `scripts/ensure-podman.sh (skipped: ${reason})` : 'scripts/ensure-podman.sh', { skip: reason }, () => {
  describe('a podman service that answers but cannot run a container', () => {
    let broken: BrokenEngine;
    let restarted: number | undefined;
    before(async () => {
      broken = await startBrokenEngine();
    });
    after(async () => {
      // The service the script started in the test's place is the test's to stop.
      if (restarted !== undefined && alive(restarted)) {
        process.kill(restarted, 'SIGTERM');
        await until(() => !alive(restarted!), 20_000, `podman service ${restarted} to stop`);
      }
      await broken.stop();
    });

    it('is restarted with the current configuration, and then runs containers', async () => {
      const r = await runScript(broken.socket, path.join(path.dirname(broken.socket), 'service.log'));
      const pidFile = `${broken.socket}.pid`;
      if (existsSync(pidFile)) restarted = Number((await readFile(pidFile, 'utf8')).trim());
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`podman service at unix://${broken.socket} \\(pid ${broken.pid}\\) answers but cannot run a container`));
      assert.match(r.stderr, /error setting rlimit type 7: operation not permitted/);
      assert.match(r.stderr, /restarting it/);
      assert.equal(r.stdout.trim(), `DOCKER_HOST=unix://${broken.socket}`);
      await broken.exited;
      assert.ok(restarted !== undefined && restarted !== broken.pid && alive(restarted), `a new service runs (pid ${restarted})`);
      const config = resolveConfig({ app: 'ensure', image: 'localhost/pipe-busybox:latest' }, path.join(path.dirname(broken.socket), 'pipeline.config.ts'), undefined);
      const runner = await createDockerRunner({ config, env: { DOCKER_HOST: broken.dockerHost }, requirePython: false });
      try {
        const out = await runner.exec({ command: ['echo', 'runs'] }, { reporter: new RecordingStepReporter(), signal: new AbortController().signal });
        assert.equal(out.stdout, 'runs\n');
      } finally {
        await runner.dispose();
      }
    });
  });

  describe('something else answering on the socket', () => {
    let dir: string;
    const server = createServer((req, res) => {
      res.writeHead(req.url === '/_ping' ? 200 : 500, { 'content-type': 'text/plain' });
      res.end(req.url === '/_ping' ? 'OK' : 'not an engine');
    });
    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-not-podman-'));
      await new Promise<void>((resolve) => server.listen(path.join(dir, 'engine.sock'), resolve));
    });
    after(async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    });

    it('is left alone, and the script says why it cannot help', async () => {
      const socket = path.join(dir, 'engine.sock');
      const r = await runScript(socket, path.join(dir, 'service.log'));
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`the engine at unix://${socket} answers but cannot run a container`));
      assert.match(r.stderr, /not a podman service on that socket, so this script leaves it alone/);
      assert.ok(server.listening, 'the server was not touched');
      assert.equal(existsSync(`${socket}.pid`), false, 'nothing was started');
    });
  });
});
