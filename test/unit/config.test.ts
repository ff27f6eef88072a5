import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig } from '../../src/config/load.js';
import { resolveConfig } from '../../src/config/resolved.js';
import { ConfigError } from '../../src/errors.js';

const BUILTIN = ['env', 'model', 'package', 'deploy', 'clean'];
const invalid = (raw: unknown, ...fragments: RegExp[]) =>
  assert.throws(
    () => validateConfig(raw, '/p/pipeline.config.ts', BUILTIN),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
      assert.equal(e.exitCode, 2);
      assert.match(e.message, /^pipeline\.config\.ts: invalid configuration/);
      for (const f of fragments) assert.match(e.message, f);
      return true;
    },
  );

describe('config validation', () => {
  it('accepts a minimal and a full config', () => {
    assert.equal(validateConfig({ app: 'x' }, 'f', BUILTIN).app, 'x');
    validateConfig(
      {
        app: 'credit-risk', region: 'eu-west-1', runtime: 'python3.11', architecture: 'arm64', runner: 'docker', image: 'lambci/lambda:build-python3.8',
        docker: { binds: ['/opt/wheels:/opt/wheels:ro'], env: { PIP_NO_INDEX: '1' }, network: 'none' },
        paths: { build: 'out' }, model: { seed: 1, hyperparameters: { max_depth: 4, criterion: 'gini', bootstrap: true, max_features: null } },
        function: { memory: 1024, timeout: 60, env: { LOG_LEVEL: 'info' } }, url: { auth: 'AWS_IAM', cors: { allowOrigins: ['*'] } },
        stages: { dev: {}, prod: { region: 'us-west-2', function: { memory: 2048 } } }, defaultStage: 'dev',
        tasks: { lint: { command: 'ruff check .', inputs: ['python/**'], outputs: ['build/lint.txt'], dependencies: ['env'] } },
      },
      'f',
      BUILTIN,
    );
  });

  it('names an unknown key and lists the allowed ones', () => {
    invalid({ app: 'x', memroy: 3 }, /memroy is not a known key; allowed here: app, region/);
    invalid({ app: 'x', function: { memroy: 3 } }, /function\.memroy is not a known key; allowed here: memory, timeout/);
  });

  it('names a wrong value and says what is allowed', () => {
    invalid({ app: 'x', runtime: 'python2.7' }, /runtime is "python2.7"; expected one of "python3\.8"/);
    invalid({ app: 'x', function: { memory: 64 } }, /function\.memory is 64; expected an integer >= 128 <= 10240/);
    invalid({ app: 'Bad Name' }, /app is "Bad Name"; expected lowercase letters/);
    invalid({}, /app is missing/);
    invalid({ app: 'x', paths: { build: '../outside' } }, /paths\.build .* project-relative path/);
    invalid({ app: 'x', stages: { prod: { url: { auth: 'OPEN' } } } }, /stages\.prod\.url\.auth is "OPEN"; expected one of "NONE", "AWS_IAM"/);
  });

  it('checks user tasks', () => {
    invalid({ app: 'x', tasks: { env: { command: 'true' } } }, /tasks\.env has the name of a built-in task/);
    invalid({ app: 'x', tasks: { t: {} } }, /tasks\.t needs a "command"/);
    invalid({ app: 'x', tasks: { t: { command: 'a', run: () => {} } } }, /has both "command" and "run"/);
  });

  it('checks defaultStage against the stages', () => {
    invalid({ app: 'x', stages: { dev: {} }, defaultStage: 'prod' }, /defaultStage is "prod"; expected one of the stages: dev/);
  });
});

describe('resolveConfig', () => {
  it('fills defaults and merges the stage over the top level', () => {
    const raw = validateConfig(
      { app: 'a', runtime: 'python3.11', function: { memory: 512, env: { A: '1' } }, stages: { prod: { region: 'eu-west-1', function: { memory: 2048, env: { B: '2' } } } } },
      'f',
      BUILTIN,
    );
    const dev = resolveConfig(raw, '/p/pipeline.config.ts', undefined);
    assert.equal(dev.stage, 'dev');
    assert.equal(dev.function.memory, 512);
    assert.equal(dev.image, 'public.ecr.aws/sam/build-python3.11:latest-x86_64');
    assert.equal(dev.root, '/p');
    const prod = resolveConfig(raw, '/p/pipeline.config.ts', 'prod');
    assert.equal(prod.region, 'eu-west-1');
    assert.equal(prod.function.memory, 2048);
    assert.deepEqual(prod.function.env, { A: '1', B: '2' });
  });
});
