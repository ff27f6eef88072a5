import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeProject, runPipe } from '../support/cli.js';

/** Option values as users type them, parsed by the real CLI. */
describe('pipe option parsing', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  // No credentials anywhere: a check that ran after the AWS preflight would fail on them instead.
  let noAws: NodeJS.ProcessEnv;
  before(async () => {
    ({ dir, cleanup } = await makeProject({ 'pipeline.config.ts': `export default { app: 'opts' };` }));
    noAws = {
      AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '', AWS_PROFILE: '',
      AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'none'), AWS_CONFIG_FILE: path.join(dir, 'none'), AWS_EC2_METADATA_DISABLED: 'true',
    };
  });
  after(() => cleanup());

  it('logs --since -5m is a value, not the flags -5 -m', async () => {
    for (const args of [['logs', '--since', '-5m', '--dry-run'], ['logs', '--since', '-1h30m', '-f', '--dry-run']]) {
      const r = await runPipe(args, { cwd: dir, env: noAws });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /1\. logs +run/);
    }
  });

  it('a --since that is no duration or date exits 2 naming it, before any AWS check', async () => {
    const r = await runPipe(['logs', '--since', 'yesterday'], { cwd: dir, env: noAws });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /--since "yesterday" is neither a duration nor a date/);
    assert.doesNotMatch(r.stderr, /credentials/i);
  });
});
