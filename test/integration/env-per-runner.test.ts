import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { environmentKey } from '../../src/runners/env-key.js';
import { makeProject, runPipe } from '../support/cli.js';
import { BUILD_IMAGE, DOCKER_HOST, engineSkipReason } from '../support/build-engine.js';

const reason = await engineSkipReason();
const LOCAL = environmentKey('local', 'python3');
const DOCKER = environmentKey('docker', BUILD_IMAGE);

describe(reason ? `one environment per runner and image (skipped: ${reason})` : 'one environment per runner and image', { skip: reason }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const env = (runner: 'local' | 'docker') => runPipe(['env', '--runner', runner], { cwd: dir, env: { DOCKER_HOST } });
  before(async () => {
    // Requirements without packages: the steps (venv, pip, vendoring) are real, and quick.
    ({ dir, cleanup } = await makeProject({
      'pipeline.config.ts': `export default { app: 'switch', runtime: 'python3.11', image: '${BUILD_IMAGE}', docker: { network: 'none' } };\n`,
      'python/requirements.txt': '# training needs nothing here\n',
      'handler/requirements.txt': '# nor does the function\n',
    }));
  });
  after(() => cleanup());

  it('local, then docker: each builds its own environment', async () => {
    const local = await env('local');
    assert.equal(local.code, 0, local.stdout + local.stderr);
    assert.match(local.stdout, /runner: local/);
    const docker = await env('docker');
    assert.equal(docker.code, 0, docker.stdout + docker.stderr);
    assert.match(docker.stdout, /runner: docker/);
    for (const key of [LOCAL, DOCKER]) {
      assert.ok(existsSync(path.join(dir, `build/venv-${key}/pyvenv.cfg`)), `venv of ${key}`);
      assert.ok(existsSync(path.join(dir, `build/runtime-deps-${key}/python`)), `runtime deps of ${key}`);
    }
  });

  it('switching back to local, and then to docker again, rebuilds nothing', async () => {
    const local = await env('local');
    assert.equal(local.code, 0, local.stderr);
    assert.match(local.stdout, /- env: skipped \(up to date\)/);
    const docker = await env('docker');
    assert.equal(docker.code, 0, docker.stderr);
    assert.match(docker.stdout, /- env: skipped \(up to date\)/);
  });
});
