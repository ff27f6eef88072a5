import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveConfig } from '../../src/config/resolved.js';
import type { TaskContext } from '../../src/task.js';
import { cleanTask } from '../../tasks/clean.js';
import { makeProject, runPipe } from '../support/cli.js';

const exists = (dir: string, rel: string) => existsSync(path.join(dir, rel));

describe('pipe clean', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let outside: string;
  before(async () => {
    ({ dir, cleanup } = await makeProject({
      'pipeline.config.ts': `export default { app: 'c' };`,
      'build/venv/pyvenv.cfg': 'home = /usr/bin\n',
      'build/runtime-deps/python/numpy/__init__.py': '',
      'build/package/function.zip': 'zip',
      'build/serve/code/app.py': '',
      'artifacts/model.json': '{}',
      '.pipe/state/env.json': '{}',
      '.pipe/state/package.json': '{}',
      '.pipe/cache/config-x.mjs': '',
      'python/build_model_artifacts.py': '# source',
    }));
    outside = await mkdtemp(path.join(os.tmpdir(), 'pipe-outside-'));
    await writeFile(path.join(outside, 'precious.txt'), 'keep me');
  });
  after(async () => {
    await cleanup();
    await rm(outside, { recursive: true, force: true });
  });

  it('removes package outputs and their fingerprint, and keeps environments and artifacts', async () => {
    const r = await runPipe(['clean'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    for (const gone of ['build/package', 'build/serve', '.pipe/state/package.json']) assert.equal(exists(dir, gone), false, gone);
    for (const kept of ['build/venv/pyvenv.cfg', 'build/runtime-deps', 'artifacts/model.json', '.pipe/state/env.json', 'python/build_model_artifacts.py']) {
      assert.equal(exists(dir, kept), true, kept);
    }
    assert.match(r.stdout, /removed build\/package/);
  });

  it('--all without a terminal and without --yes lists what it would remove, removes nothing and exits 2', async () => {
    const r = await runPipe(['clean', '--all'], { cwd: dir });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /clean --all would remove:\n  build \(.*\)\n  artifacts \(the trained model.*\)\n  \.pipe\/state \(.*\)\n  \.pipe\/cache/);
    assert.match(r.stderr, /hint: Pass --yes to confirm/);
    for (const kept of ['build/venv/pyvenv.cfg', 'artifacts/model.json', '.pipe/state/env.json']) assert.equal(exists(dir, kept), true, kept);
  });

  it('--all --yes removes environments and artifacts too, never sources, and follows no symlink out of the project', async () => {
    // build/ replaced by a link to a directory outside the project: the link goes, the target stays.
    await rm(path.join(dir, 'build'), { recursive: true });
    await symlink(outside, path.join(dir, 'build'));
    const r = await runPipe(['clean', '--all', '--yes'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    for (const gone of ['build', 'artifacts', '.pipe/state', '.pipe/cache']) assert.equal(exists(dir, gone), false, gone);
    assert.equal(exists(dir, 'python/build_model_artifacts.py'), true);
    assert.equal(existsSync(path.join(outside, 'precious.txt')), true, 'the target outside the project is untouched');
  });

  it('says so when there is nothing to remove', async () => {
    await mkdir(path.join(dir, 'build'), { recursive: true });
    const r = await runPipe(['clean', '--all', '--yes'], { cwd: dir });
    assert.equal(r.code, 0);
    // Only the compiled config, which every run writes again: nothing worth a question.
    const cacheOnly = await runPipe(['clean', '--all'], { cwd: dir });
    assert.equal(cacheOnly.code, 0, cacheOnly.stderr);
    const again = await runPipe(['clean'], { cwd: dir });
    assert.match(again.stdout, /nothing to remove/);
  });
});

describe('clean --all on a terminal', () => {
  const context = (root: string, answer: boolean, questions: string[]): TaskContext => ({
    name: 'clean',
    config: resolveConfig({ app: 'c' }, path.join(root, 'pipeline.config.ts'), undefined),
    root,
    options: { all: true },
    reporter: { line: () => undefined, progress: () => undefined, step: () => { throw new Error('no steps'); }, done: () => undefined, fail: () => undefined },
    signal: new AbortController().signal,
    io: { interactive: true, confirm: async (q) => (questions.push(q), answer), print: () => undefined },
    runner: async () => { throw new Error('no runner'); },
    staging: (output) => output,
  });

  it('asks first, listing what it removes, and removes nothing when the answer is no', async () => {
    const { dir, cleanup } = await makeProject({ 'artifacts/model.json': '{}', 'build/venv/pyvenv.cfg': '' });
    try {
      const questions: string[] = [];
      const declined = await cleanTask.run(context(dir, false, questions));
      assert.equal(declined?.summary, 'cancelled');
      assert.equal(questions.length, 1);
      assert.match(questions[0]!, /build \(.*\)\n  artifacts \(the trained model/);
      assert.equal(exists(dir, 'artifacts/model.json'), true);
      const accepted = await cleanTask.run(context(dir, true, questions));
      assert.match(accepted?.summary ?? '', /removed build, artifacts/);
      assert.equal(exists(dir, 'artifacts'), false);
    } finally {
      await cleanup();
    }
  });
});
