import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveConfig } from '../../src/config/resolved.js';
import { executeRun } from '../../src/executor/executor.js';
import type { Runner } from '../../src/runners/runner.js';
import type { TaskDefinition, TaskIo } from '../../src/task.js';
import { RecordingReporter } from '../support/recording-reporter.js';

const io: TaskIo = { interactive: false, confirm: async () => false, print: () => {} };

/** A runner that runs nothing: its identity (envKey, tool versions) is all the executor asks for here. */
const runnerOf = (envKey: string): Runner => ({
  kind: envKey.startsWith('docker') ? 'docker' : 'local',
  projectDir: '/',
  python: 'python3',
  pythonVersion: envKey === 'local-python3' ? '3.11.2' : '3.11.9',
  envKey,
  describe: () => envKey,
  identify: async () => ({ tools: { python: envKey === 'local-python3' ? '3.11.2' : '3.11.9' }, ready: true }),
  prepare: async () => {},
  exec: async () => ({ stdout: '' }),
  functionHost: async () => assert.fail('not served here'),
  dispose: async () => {},
});

describe('tasks with one environment per runner', () => {
  let root: string;
  const built: string[] = [];
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'pipe-envs-'));
    await writeFile(path.join(root, 'requirements.txt'), 'numpy\n');
  });
  after(() => rm(root, { recursive: true, force: true }));

  const envTask: TaskDefinition = {
    name: 'env',
    description: '',
    dependencies: [],
    inputs: () => ['requirements.txt'],
    outputs: (_c, envKey) => [`build/venv-${envKey}`],
    usesRunner: true,
    perEnvironment: true,
    async run(ctx) {
      const { envKey } = await ctx.runner();
      built.push(envKey);
      await mkdir(ctx.staging(`build/venv-${envKey}`), { recursive: true });
    },
  };
  const run = async (envKey: string) => {
    const reporter = new RecordingReporter();
    const config = resolveConfig({ app: 'x' }, path.join(root, 'pipeline.config.ts'), undefined);
    const report = await executeRun({
      config, tasks: [envTask], requested: ['env'], options: {}, reporter, signal: new AbortController().signal, io, createRunner: async () => runnerOf(envKey),
    });
    assert.equal(report.exitCode, 0);
    return report.tasks[0]!;
  };

  it('keeps outputs and fingerprint per runner, so switching back runs nothing', async () => {
    assert.equal((await run('local-python3')).outcome, 'succeeded');
    assert.equal((await run('docker-build-python3.11-0a1b2c3d')).outcome, 'succeeded');
    const back = await run('local-python3');
    assert.equal(back.outcome, 'skipped', back.reason);
    assert.equal((await run('docker-build-python3.11-0a1b2c3d')).outcome, 'skipped');
    assert.deepEqual(built, ['local-python3', 'docker-build-python3.11-0a1b2c3d']);
    for (const key of ['local-python3', 'docker-build-python3.11-0a1b2c3d']) {
      assert.ok(existsSync(path.join(root, `build/venv-${key}`)), key);
      assert.ok(existsSync(path.join(root, `.pipe/state/env@${key}.json`)), key);
    }
  });

  it('a missing environment of one runner is rebuilt without touching the other', async () => {
    await rm(path.join(root, 'build/venv-local-python3'), { recursive: true });
    const again = await run('local-python3');
    assert.equal(again.outcome, 'succeeded');
    assert.match(again.reason, /output missing: build\/venv-local-python3/);
    assert.equal((await run('docker-build-python3.11-0a1b2c3d')).outcome, 'skipped');
  });
});
