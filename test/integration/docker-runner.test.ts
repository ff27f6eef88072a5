import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Docker from 'dockerode';
import { resolveConfig, type ResolvedConfig } from '../../src/config/resolved.js';
import type { PipeConfig } from '../../src/config/schema.js';
import { CommandError, InterruptedError, PipeError, UsageError } from '../../src/errors.js';
import { PROJECT_LABEL } from '../../src/runners/docker-container.js';
import { engineLocation } from '../../src/runners/docker-engine.js';
import { dockerEngineAnswers } from '../../src/runners/docker-engine.js';
import { createDockerRunner, type DockerRunner } from '../../src/runners/docker-runner.js';
import { OFFLINE_PIP_DOCKER } from '../support/example-project.js';
import { RecordingStepReporter as RecordingReporter } from '../support/recording-reporter.js';

const BUSYBOX = 'localhost/pipe-busybox:latest';
const PYTHON = 'localhost/pipe-build-python3.11:latest';
const engineEnv = { DOCKER_HOST: process.env.DOCKER_HOST ?? 'unix:///tmp/podman.sock' };
const engineWhere = engineLocation(engineEnv).where;

const OFFLINE_PIP: PipeConfig['docker'] = OFFLINE_PIP_DOCKER;



async function skipReason(): Promise<string | undefined> {
  const previous = process.env.DOCKER_HOST;
  process.env.DOCKER_HOST = engineEnv.DOCKER_HOST;
  const answers = await dockerEngineAnswers();
  if (previous === undefined) delete process.env.DOCKER_HOST;
  else process.env.DOCKER_HOST = previous;
  if (!answers) return `no Docker engine at ${engineWhere} (run scripts/ensure-podman.sh)`;
  const docker = new Docker(engineLocation(engineEnv).options);
  for (const image of [BUSYBOX, PYTHON]) {
    const found = await docker.getImage(image).inspect().then(() => true, () => false);
    if (!found) return `image ${image} missing (run scripts/ensure-build-image.sh)`;
  }
  return undefined;
}

// In CI the engine is part of the setup: a missing one fails the tests instead of skipping them.
const reason = process.env.CI === 'true' ? undefined : await skipReason();
const suiteName = reason ? `docker runner (skipped: ${reason})` : 'docker runner';

describe(suiteName, { skip: reason }, () => {
  let root: string;
  let busybox: DockerRunner;
  const docker = new Docker(engineLocation(engineEnv).options);
  const signal = new AbortController().signal;

  function config(extra: Partial<PipeConfig> = {}): ResolvedConfig {
    return resolveConfig({ app: 'docker-test', runtime: 'python3.11', image: BUSYBOX, ...extra }, path.join(root, 'pipeline.config.ts'), undefined);
  }

  async function projectContainers(): Promise<Docker.ContainerInfo[]> {
    return docker.listContainers({ all: true, filters: { label: [`${PROJECT_LABEL}=${root}`] } });
  }

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'pipe-docker-'));
    busybox = await createDockerRunner({ config: config(), env: engineEnv, requirePython: false });
  });

  after(async () => {
    await busybox?.dispose();
    await rm(root, { recursive: true, force: true });
  });

  test('streams stdout and stderr line by line, live and in order', async () => {
    // The container waits for a file the test writes on seeing the previous line: each line must arrive
    // while the container still runs, and the order across both streams is fixed by the handshake.
    const script = [
      'echo one',
      'while [ ! -f go1 ]; do sleep 0.02; done',
      'echo two >&2',
      'while [ ! -f go2 ]; do sleep 0.02; done',
      'printf "three\\nfour"',
    ].join('; ');
    const reporter = new RecordingReporter((line) => {
      if (line.text === 'one') void writeFile(path.join(root, 'go1'), '');
      if (line.text === 'two') void writeFile(path.join(root, 'go2'), '');
    });
    const result = await busybox.exec({ command: ['sh', '-c', script] }, { reporter, signal });
    assert.deepEqual(reporter.lines, [
      { text: 'one', stream: 'stdout' },
      { text: 'two', stream: 'stderr' },
      { text: 'three', stream: 'stdout' },
      { text: 'four', stream: 'stdout' },
    ]);
    assert.equal(result.stdout, 'one\nthree\nfour');
  });

  test('runs in the mounted project at the step cwd, with config env and a writable HOME', async () => {
    await mkdir(path.join(root, 'sub'), { recursive: true });
    const runner = await createDockerRunner({
      config: config({ docker: { env: { FROM_CONFIG: 'c', SHARED: 'config' } } }),
      env: engineEnv,
      requirePython: false,
    });
    const result = await runner.exec(
      { command: ['sh', '-c', 'pwd; echo "$FROM_CONFIG $SHARED $HOME"; touch "$HOME/x" && echo home-writable'], cwd: 'sub', env: { SHARED: 'step' } },
      { reporter: new RecordingReporter(), signal },
    );
    assert.equal(result.stdout, '/var/task/sub\nc step /tmp/pipe-home\nhome-writable\n');
    assert.equal(runner.projectDir, '/var/task');
    assert.match(runner.describe(), /^docker \(localhost\/pipe-busybox:latest\)$/);
  });

  test('a non-zero exit becomes a CommandError with the exit code, the command and the stderr tail', async () => {
    const script = 'for i in $(seq 1 30); do echo "err $i" >&2; done; exit 3';
    const error = await busybox.exec({ command: ['sh', '-c', script] }, { reporter: new RecordingReporter(), signal }).then(
      () => assert.fail('expected a CommandError'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof CommandError, String(error));
    assert.equal(error.exitCode, 3);
    assert.equal(error.command, `sh -c '${script}'`);
    assert.equal(error.stderrTail.length, 20);
    assert.equal(error.stderrTail[0], 'err 11');
    assert.equal(error.stderrTail[19], 'err 30');
    assert.match(error.message, /exit code 3 \(docker localhost\/pipe-busybox:latest\)/);
    assert.deepEqual(await projectContainers(), []);
  });

  test('a missing executable is a CommandError (127) and leaves no container', async () => {
    const error = await busybox.exec({ command: ['no-such-program', '--flag'] }, { reporter: new RecordingReporter(), signal }).then(
      () => assert.fail('expected a CommandError'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof CommandError, String(error));
    assert.equal(error.exitCode, 127);
    assert.equal(error.command, 'no-such-program --flag');
    assert.match(error.stderrTail.join('\n'), /executable not found in the image: .*no-such-program/);
    assert.deepEqual(await projectContainers(), []);
  });

  test('cancellation kills and removes the container within 2 s', async () => {
    const controller = new AbortController();
    let abortedAt = 0;
    const reporter = new RecordingReporter((line) => {
      if (line.text !== 'started') return;
      abortedAt = Date.now();
      controller.abort();
    });
    const error = await busybox.exec({ command: ['sh', '-c', 'echo started; sleep 30'] }, { reporter, signal: controller.signal }).then(
      () => assert.fail('expected an InterruptedError'),
      (e: unknown) => e,
    );
    const elapsed = Date.now() - abortedAt;
    assert.ok(error instanceof InterruptedError, String(error));
    assert.ok(abortedAt > 0 && elapsed < 2000, `returned ${elapsed} ms after the abort`);
    assert.deepEqual(await projectContainers(), []);
  });

  test('an already aborted signal starts nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(busybox.exec({ command: ['true'] }, { reporter: new RecordingReporter(), signal: controller.signal }), InterruptedError);
    assert.deepEqual(await projectContainers(), []);
  });

  test('files written by the container belong to the invoking user', async () => {
    const result = await busybox.exec(
      { command: ['sh', '-c', 'echo data > owned.txt && echo "$(id -u):$(id -g)"'] },
      { reporter: new RecordingReporter(), signal },
    );
    const expected = `${process.getuid!()}:${process.getgid!()}`;
    assert.equal(result.stdout.trim(), expected);
    const info = await stat(path.join(root, 'owned.txt'));
    assert.equal(`${info.uid}:${info.gid}`, expected);
  });

  test('AWS credentials and ~/.aws never reach the container, with a warning', async () => {
    const awsDir = path.join(os.homedir(), '.aws');
    const runner = await createDockerRunner({
      config: config({ docker: { env: { AWS_SECRET_ACCESS_KEY: 'secret', KEEP: '1' }, binds: [`${awsDir}:/root/.aws:ro`] } }),
      env: engineEnv,
      requirePython: false,
    });
    const reporter = new RecordingReporter();
    const result = await runner.exec(
      { command: ['sh', '-c', 'env | grep -E "^(AWS_|KEEP=)" | sort; ls /root/.aws 2>/dev/null || echo no-aws-dir'], env: { AWS_PROFILE: 'p' } },
      { reporter, signal },
    );
    assert.equal(result.stdout, 'KEEP=1\nno-aws-dir\n');
    const warnings = reporter.lines.filter((l) => l.stream === 'warn').map((l) => l.text);
    assert.equal(warnings.length, 2);
    assert.match(warnings.join('\n'), /AWS_PROFILE, AWS_SECRET_ACCESS_KEY/);
    assert.match(warnings.join('\n'), /not mounting .*\.aws/);
    assert.doesNotMatch(warnings.join('\n'), /secret/);
  });

  test('no engine at DOCKER_HOST gives a clear DOCKER_UNAVAILABLE error', async () => {
    const dead = path.join(root, 'dead.sock');
    const error = await createDockerRunner({ config: config(), env: { DOCKER_HOST: `unix://${dead}` } }).then(
      () => assert.fail('expected DOCKER_UNAVAILABLE'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof PipeError);
    assert.equal(error.code, 'DOCKER_UNAVAILABLE');
    assert.ok(
      error.message.startsWith(`no Docker engine at unix://${dead}: start Docker, set DOCKER_HOST, or use --runner local`),
      error.message,
    );
  });

  test('dockerEngineAnswers is false for a dead socket and true for the engine', async () => {
    const previous = process.env.DOCKER_HOST;
    try {
      process.env.DOCKER_HOST = `unix://${path.join(root, 'dead.sock')}`;
      assert.equal(await dockerEngineAnswers(), false);
      process.env.DOCKER_HOST = engineEnv.DOCKER_HOST;
      assert.equal(await dockerEngineAnswers(), true);
    } finally {
      if (previous === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = previous;
    }
  });

  test('an image that cannot be pulled fails with the registry message', async () => {
    const image = 'localhost/pipe-no-such-image:never';
    const error = await createDockerRunner({ config: config({ image }), env: engineEnv, reporter: new RecordingReporter() }).then(
      () => assert.fail('expected IMAGE_PULL_FAILED'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof PipeError, String(error));
    assert.equal(error.code, 'IMAGE_PULL_FAILED');
    assert.match(error.message, /^could not pull image localhost\/pipe-no-such-image:never: .*(connection refused|no such host|localhost)/);
  });

  test('a python3.11 image for a python3.12 runtime is an error naming both', async () => {
    const error = await createDockerRunner({ config: config({ image: PYTHON, runtime: 'python3.12' }), env: engineEnv }).then(
      () => assert.fail('expected IMAGE_RUNTIME_MISMATCH'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof UsageError, String(error));
    assert.equal(error.code, 'IMAGE_RUNTIME_MISMATCH');
    assert.match(error.message, /localhost\/pipe-build-python3\.11:latest has Python 3\.11.*python3\.12/);
  });

  test('an image without Python is refused when Python is required', async () => {
    const error = await createDockerRunner({ config: config(), env: engineEnv }).then(
      () => assert.fail('expected IMAGE_NO_PYTHON'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof PipeError, String(error));
    assert.equal(error.code, 'IMAGE_NO_PYTHON');
    assert.deepEqual(await projectContainers(), []);
  });

  test('the python image matches python3.11, reports its tool versions and installs wheels offline', async () => {
    const runner = await createDockerRunner({ config: config({ image: PYTHON, docker: OFFLINE_PIP }), env: engineEnv });
    const { tools } = await runner.identify();
    const versions: Record<string, string> = { ...tools, python: runner.pythonVersion };
    const inspected = await docker.getImage(PYTHON).inspect();
    assert.equal(versions.imageId, inspected.Id);
    assert.match(versions.python ?? '', /^3\.11\.\d+$/);
    assert.equal(runner.python, 'python3');
    const target = 'build/vendor';
    await runner.exec(
      { command: ['python3', '-m', 'pip', 'install', '--quiet', '--target', target, 'numpy==2.2.6'] },
      { reporter: new RecordingReporter(), signal },
    );
    assert.ok(existsSync(path.join(root, target, 'numpy', '__init__.py')));
    const info = await stat(path.join(root, target, 'numpy'));
    assert.equal(info.uid, process.getuid!());
  });
});
