import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { resolveConfig } from '../../src/config/resolved.js';
import { CommandError, PipeError } from '../../src/errors.js';
import { PROJECT_LABEL } from '../../src/runners/docker-container.js';
import { createDockerRunner } from '../../src/runners/docker-runner.js';
import { BUILD_IMAGE, DOCKER_HOST, engineSkipReason } from '../support/build-engine.js';
import { brokenEngineSkipReason, startBrokenEngine, type BrokenEngine } from '../support/broken-engine.js';
import { RecordingStepReporter } from '../support/recording-reporter.js';

const BUSYBOX = 'localhost/pipe-busybox:latest';
const reason = (await engineSkipReason()) ?? brokenEngineSkipReason();
const signal = new AbortController().signal;

describe(reason ? `a container that cannot start (skipped: ${reason})` : 'a container that cannot start', { skip: reason }, () => {
  let root: string;
  let broken: BrokenEngine;
  const config = (image: string) => resolveConfig({ app: 'start-failure', runtime: 'python3.11', image }, path.join(root, 'pipeline.config.ts'), undefined);
  const leftovers = () => new Docker({ socketPath: broken.socket }).listContainers({ all: true, filters: { label: [`${PROJECT_LABEL}=${root}`] } });

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'pipe-start-failure-'));
    broken = await startBrokenEngine();
  });
  after(async () => {
    await broken?.stop();
    await rm(root, { recursive: true, force: true });
  });

  test('is the engine\'s failure, in its own words, not "the image has no python3"', async () => {
    const error = await createDockerRunner({ config: config(BUILD_IMAGE), env: { DOCKER_HOST: broken.dockerHost } }).then(
      () => assert.fail('expected the start to fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof PipeError, String(error));
    assert.equal(error.code, 'CONTAINER_START_FAILED');
    assert.match(error.message, /could not start a container \(docker localhost\/pipe-build-python3\.11:latest\) for python3 --version: .*error setting rlimit type 7: operation not permitted/);
    assert.match(error.hint ?? '', /No command ran/);
    assert.match(error.hint ?? '', /restart the service/);
    assert.deepEqual(await leftovers(), [], 'the Created container was removed');
  });

  test('a step of a runner on that engine fails the same way, not as a command exiting 126', async () => {
    const runner = await createDockerRunner({ config: config(BUSYBOX), env: { DOCKER_HOST: broken.dockerHost }, requirePython: false });
    try {
      const error = await runner.exec({ command: ['true'] }, { reporter: new RecordingStepReporter(), signal }).then(
        () => assert.fail('expected the start to fail'),
        (e: unknown) => e,
      );
      assert.ok(!(error instanceof CommandError), String(error));
      assert.ok(error instanceof PipeError && error.code === 'CONTAINER_START_FAILED', String(error));
    } finally {
      await runner.dispose();
    }
  });

  test('on a working engine, a file that is not executable is still the command\'s 126', async () => {
    const runner = await createDockerRunner({ config: config(BUSYBOX), env: { DOCKER_HOST }, requirePython: false });
    try {
      const error = await runner.exec({ command: ['/etc/passwd'] }, { reporter: new RecordingStepReporter(), signal }).then(
        () => assert.fail('expected a CommandError'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof CommandError, String(error));
      assert.equal(error.exitCode, 126);
      assert.match(error.stderrTail.join('\n'), /cannot execute: .*permission denied/);
    } finally {
      await runner.dispose();
    }
  });
});
