import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeProject, runPipe } from '../support/cli.js';

/** The real CLI as a GitHub Actions step sees it: GITHUB_ACTIONS, a workspace and a step summary file. */
describe('pipe under GitHub Actions', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const env = (name: string) => ({ GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: dir, GITHUB_STEP_SUMMARY: path.join(dir, name) });
  before(async () => {
    ({ dir, cleanup } = await makeProject({
      'pipeline.config.ts': `export default { app: 'gha', tasks: {
        fine: { command: 'echo fine line one && echo fine line two' },
        broken: { command: 'echo broken line && echo "it broke" >&2 && exit 3' },
      } };`,
      'bad/pipeline.config.ts': `export default {\n  app: 'gha',\n  function: { memroy: 512 },\n};\n`,
    }));
  });
  after(() => cleanup());

  it('groups each task log, annotates the failure and writes the step summary', async () => {
    const r = await runPipe(['fine', 'broken'], { cwd: dir, env: env('summary.md') });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const lines = r.stdout.split('\n');
    for (const task of ['fine', 'broken']) {
      const start = lines.findIndex((l) => l.startsWith(`::group::${task} (`));
      const end = lines.indexOf('::endgroup::', start);
      assert.ok(start >= 0 && end > start, r.stdout);
      const inside = lines.slice(start + 1, end).join('\n');
      assert.match(inside, new RegExp(`${task} \\| ${task} line`), inside);
      assert.doesNotMatch(inside, new RegExp(task === 'fine' ? 'broken' : 'fine line'), `no other task's lines in ${task}'s group`);
    }
    assert.match(r.stdout, /^::error title=pipe%3A broken failed::Command failed with exit code 3 \(task broken\): echo broken line.*%0A.*it broke/m);
    const summary = await readFile(path.join(dir, 'summary.md'), 'utf8');
    assert.match(summary, /^### pipe fine broken: failed in /);
    assert.match(summary, /^\| fine \| ✅ ran \| \d/m);
    assert.match(summary, /^\| broken \| ❌ failed \| \d.* \| Command failed with exit code 3/m);
  });

  it('with --json: the JSON document alone on stdout, the workflow commands on stderr', async () => {
    const r = await runPipe(['broken', '--json'], { cwd: dir, env: env('json-summary.md') });
    assert.equal(r.code, 1);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'COMMAND_FAILED');
    assert.match(r.stderr, /^::group::broken \(/m);
    assert.match(r.stderr, /^::error title=pipe%3A broken failed::/m);
    assert.match(await readFile(path.join(dir, 'json-summary.md'), 'utf8'), /\| broken \| ❌ failed/);
  });

  it('points a config error at the file and line of the key', async () => {
    const r = await runPipe(['fine'], { cwd: path.join(dir, 'bad'), env: env('config-summary.md') });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /^::error title=pipe%3A CONFIG_INVALID,file=bad\/pipeline\.config\.ts,line=3,col=15::pipeline\.config\.ts: invalid configuration:%0A  function\.memroy is not a known key/m);
    const summary = await readFile(path.join(dir, 'config-summary.md'), 'utf8');
    assert.match(summary, /stopped: usage or configuration error/);
    assert.match(summary, /\*\*Error `CONFIG_INVALID`\*\* in `bad\/pipeline\.config\.ts:3`/);
  });
});
