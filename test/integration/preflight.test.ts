import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeProject, runPipe } from '../support/cli.js';

describe('preflight checks', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await makeProject({
      'pipeline.config.ts': `export default { app: 'pre', runner: 'local', runtime: 'python3.11' };`,
      'python/requirements.txt': '',
      'python/build_model_artifacts.py': '',
      'handler/requirements.txt': '',
    }));
  });
  after(() => cleanup());

  it('without AWS credentials, `pipe env model deploy` fails before building anything, saying what to do', async () => {
    const env: NodeJS.ProcessEnv = {
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_SESSION_TOKEN: '',
      AWS_PROFILE: '',
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'),
      AWS_CONFIG_FILE: path.join(dir, 'none'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: '',
      AWS_WEB_IDENTITY_TOKEN_FILE: '',
    };
    const r = await runPipe(['env', 'model', 'deploy'], { cwd: dir, env });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /credentials/i);
    assert.match(r.stderr, /hint: .*aws configure/);
    assert.doesNotMatch(r.stdout, /> env: running/);
    assert.equal(existsSync(path.join(dir, 'build')), false, 'nothing was built');
  });

  it('in a directory without the training and function files, env and model fail before building anything, naming them', async () => {
    const bare = await makeProject({ 'pipeline.config.ts': `export default { app: 'bare', runner: 'local', runtime: 'python3.11' };` });
    try {
      const r = await runPipe(['env', 'model'], { cwd: bare.dir });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /env needs python\/requirements\.txt and handler\/requirements\.txt, which the project at .* does not have/);
      assert.match(r.stderr, /hint: pipe runs in a clone of its repository/);
      assert.doesNotMatch(r.stdout, /> env: running/);
      assert.equal(existsSync(path.join(bare.dir, 'build')), false, 'nothing was built');

      await writeFile(path.join(bare.dir, 'pipeline.config.ts'),
        `export default { app: 'bare', runner: 'local', runtime: 'python3.11', paths: { python: 'train', handler: 'fn' } };`);
      for (const file of ['train/requirements.txt', 'fn/requirements.txt']) {
        await mkdir(path.dirname(path.join(bare.dir, file)), { recursive: true });
        await writeFile(path.join(bare.dir, file), '');
      }
      const model = await runPipe(['model'], { cwd: bare.dir });
      assert.equal(model.code, 2, model.stdout + model.stderr);
      assert.match(model.stderr, /model needs train\/build_model_artifacts\.py, which the project/);
      assert.equal(existsSync(path.join(bare.dir, 'build')), false, 'nothing was built');
    } finally {
      await bare.cleanup();
    }
  });
});
