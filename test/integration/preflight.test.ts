import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeProject, runPipe } from '../support/cli.js';

describe('preflight checks', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await makeProject({ 'pipeline.config.ts': `export default { app: 'pre', runner: 'local', runtime: 'python3.11' };` }));
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
});
