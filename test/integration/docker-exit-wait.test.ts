import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { resolveConfig } from '../../src/config/resolved.js';
import { CommandError, PipeError } from '../../src/errors.js';
import { PROJECT_LABEL } from '../../src/runners/docker-container.js';
import { engineLocation } from '../../src/runners/docker-engine.js';
import type { AttachedContainer } from '../../src/runners/docker-container.js';
import { createDockerRunner, type DockerRunner } from '../../src/runners/docker-runner.js';
import { DOCKER_HOST, engineSkipReason, projectContainers } from '../support/build-engine.js';
import { until } from '../support/cli.js';
import { startEngineRecorder, type Answer, type EngineExchange, type EngineRecorder } from '../support/engine-recorder.js';
import { RecordingStepReporter } from '../support/recording-reporter.js';

/**
 * The docker runner learns a container's exit code from the engine's wait endpoint. It asks for the next
 * exit, and has the engine's answer headers, before it starts the container: a container that exits at
 * once cannot exit unseen. A container that never starts never exits, so that wait is dropped. Every
 * request goes through a recorder in front of the real engine, which shows the order on the wire and
 * any request left open, and puts in the faults this engine does not make by itself.
 */

const BUSYBOX = 'localhost/pipe-busybox:latest';
const reason = await engineSkipReason();
const signal = new AbortController().signal;

/**
 * Docker's answer to the start of a container whose executable is missing (podman fails the attach
 * before, so here the recorder gives it, for an executable the image has: the container never runs).
 */
const dockerMissingExecutable = (program: string): Answer => ({
  status: 500,
  body: {
    message: `failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "${program}": executable file not found in $PATH: unknown`,
  },
});

/** How long the recorder holds each wait request back: a start sent without the wait's answer shows. */
const WAIT_HELD_MS = 150;

describe(reason ? `the docker runner's wait for a container's exit (skipped: ${reason})` : "the docker runner's wait for a container's exit", { skip: reason }, () => {
  let root: string;
  let recorder: EngineRecorder;
  let runner: DockerRunner;
  /** Set by a test: the recorder answers a matching request in the engine's place. */
  let fault: ((exchange: EngineExchange) => Answer | undefined) | undefined;

  const config = () => resolveConfig({ app: 'exit-wait', runtime: 'python3.11', image: BUSYBOX }, path.join(root, 'pipeline.config.ts'), undefined);
  const attachedSpec = (command: string[]) => ({ Image: BUSYBOX, Cmd: command, Labels: { [PROJECT_LABEL]: root } });
  const only = (action: string): EngineExchange => {
    const found = recorder.forContainer(action);
    assert.equal(found.length, 1, `one ${action} request: ${found.map((e) => `${e.method} ${e.path}`).join(', ')}`);
    return found[0]!;
  };
  /** No request the runner made is still open (a dropped request reaches the recorder a moment later). */
  const nothingLeftOpen = () => until(() => recorder.open().length === 0, 5_000, 'every engine request to end').catch(() => {
    assert.deepEqual(recorder.open().map((e) => `${e.method} ${e.path}`), [], 'requests left open');
  });

  /** The wait was asked with next-exit and answered before the start request reached the engine. */
  function assertWaitBeforeStart(): void {
    const wait = only('wait');
    const start = only('start');
    assert.equal(wait.query.get('condition'), 'next-exit');
    assert.ok(wait.answered !== undefined && wait.answered < start.arrived, `the start (step ${start.arrived}) came before the wait was answered (step ${wait.answered})`);
    assert.equal(wait.ended, 'complete', 'the wait was answered with the exit');
  }

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'pipe-exit-wait-'));
    recorder = await startEngineRecorder(engineLocation({ DOCKER_HOST }).options.socketPath!, {
      intercept: async (exchange) => {
        const answer = fault?.(exchange);
        if (answer) return answer;
        if (/\/wait$/.test(exchange.path)) await new Promise((resolve) => setTimeout(resolve, WAIT_HELD_MS));
        return undefined;
      },
    });
    runner = await createDockerRunner({ config: config(), env: { DOCKER_HOST: recorder.dockerHost }, requirePython: false });
  });
  afterEach(() => {
    fault = undefined;
    recorder.exchanges.length = 0;
  });
  after(async () => {
    await runner?.dispose();
    await recorder?.close();
    await rm(root, { recursive: true, force: true });
  });

  for (const [command, code] of [
    [['true'], 0],
    [['sh', '-c', 'exit 7'], 7],
    [['sh', '-c', 'exit 255'], 255],
  ] as const) {
    test(`a step that exits at once (${command.join(' ')}) is seen to exit with ${code}`, { timeout: 30_000 }, async () => {
      const outcome = await runner.exec({ command: [...command] }, { reporter: new RecordingStepReporter(), signal }).then(
        () => 0,
        (error: unknown) => {
          assert.ok(error instanceof CommandError, String(error));
          return error.exitCode;
        },
      );
      assert.equal(outcome, code);
      assertWaitBeforeStart();
      await nothingLeftOpen();
      assert.deepEqual(await projectContainers(root), []);
    });
  }

  test('an attached container that exits at once resolves exited with its code and is removed', { timeout: 30_000 }, async () => {
    const container = await runner.startAttached(attachedSpec(['sh', '-c', 'echo bye; exit 5']));
    let output = '';
    container.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    assert.equal(await container.exited, 5);
    assert.equal(output, 'bye\n');
    assertWaitBeforeStart();
    await nothingLeftOpen();
    assert.deepEqual(await projectContainers(root), []);
  });

  test('a start the engine refuses (a missing executable, as Docker reports it) drops the wait and removes the container', { timeout: 30_000 }, async () => {
    fault = (exchange) => (/\/start$/.test(exchange.path) ? dockerMissingExecutable('sleep') : undefined);
    const error = await runner.exec({ command: ['sleep', '30'] }, { reporter: new RecordingStepReporter(), signal }).then(
      () => assert.fail('expected a CommandError'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof CommandError, String(error));
    assert.equal(error.exitCode, 127);
    assert.match(error.stderrTail.join('\n'), /executable not found in the image: .*"sleep"/);
    assert.equal(only('wait').query.get('condition'), 'next-exit');
    await nothingLeftOpen();
    assert.equal(only('wait').ended, 'dropped', 'the runner closed the wait itself');
    assert.deepEqual(await projectContainers(root), []);
  });

  test('an attached container whose start fails drops the wait, closes its stdin stream and is removed', { timeout: 30_000 }, async () => {
    fault = (exchange) => (/\/start$/.test(exchange.path) ? dockerMissingExecutable('sleep') : undefined);
    const error = await runner.startAttached(attachedSpec(['sleep', '30'])).then(
      () => assert.fail('expected a CommandError'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof CommandError, String(error));
    assert.equal(error.exitCode, 127);
    await nothingLeftOpen();
    assert.equal(only('wait').ended, 'dropped');
    assert.equal(only('attach').ended, 'dropped', 'the attach connection was closed by the runner');
    assert.deepEqual(await projectContainers(root), []);
  });

  test('on this engine a missing executable already fails the attach: no wait is asked, nothing is left', { timeout: 30_000 }, async () => {
    const error = await runner.startAttached(attachedSpec(['no-such-program'])).then(
      () => assert.fail('expected a CommandError'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof CommandError, String(error));
    assert.equal(error.exitCode, 127);
    assert.deepEqual(recorder.forContainer('wait'), []);
    assert.deepEqual(recorder.forContainer('start'), []);
    await nothingLeftOpen();
    assert.deepEqual(await projectContainers(root), []);
  });

  for (const mode of ['step', 'attached'] as const) {
    test(`an engine that will not wait (${mode}) is a clear error, and nothing is started or left`, { timeout: 30_000 }, async () => {
      fault = (exchange) => (/\/wait$/.test(exchange.path) ? { status: 400, body: { message: 'invalid condition: "next-exit"' } } : undefined);
      const started: Promise<unknown> =
        mode === 'step'
          ? runner.exec({ command: ['true'] }, { reporter: new RecordingStepReporter(), signal })
          : runner.startAttached(attachedSpec(['true'])).then((container: AttachedContainer) => container.exited);
      const error = await started.then(
        () => assert.fail('expected the wait to be refused'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof PipeError && error.code === 'CONTAINER_WAIT_FAILED', String(error));
      assert.match(error.message, /would not wait for a container's exit .* for true: invalid condition: "next-exit"/);
      assert.match(error.hint ?? '', /API 1\.30/);
      assert.deepEqual(recorder.forContainer('start'), []);
      await nothingLeftOpen();
      assert.deepEqual(await projectContainers(root), []);
    });
  }
});
