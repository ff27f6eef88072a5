import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateConfig } from '../../src/config/load.js';
import { resolveConfig } from '../../src/config/resolved.js';
import { ConfigError, exitCodeOf } from '../../src/errors.js';
import { ARCHITECTURES, DEFAULT_RUNTIME, LIMITS, supportedRuntimes } from '../../src/lambda/facts.js';

const invalid = (raw: unknown, ...fragments: RegExp[]) =>
  assert.throws(
    () => validateConfig(raw, '/p/pipeline.config.ts'),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
      assert.equal(exitCodeOf(e), 2);
      assert.match(e.message, /^pipeline\.config\.ts: invalid configuration/);
      for (const f of fragments) assert.match(e.message, f);
      return true;
    },
  );

describe('config validation', () => {
  it('accepts a minimal and a full config', () => {
    assert.equal(validateConfig({ app: 'x' }, 'f').app, 'x');
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
    );
  });

  it('names an unknown key and lists the allowed ones', () => {
    invalid({ app: 'x', memroy: 3 }, /memroy is not a known key; allowed here: app, region/);
    invalid({ app: 'x', function: { memroy: 3 } }, /function\.memroy is not a known key; allowed here: memory, timeout/);
    invalid({ app: 'x', function: { memroy: 3, timout: 1, size: 2 } }, /function\.memroy is not a known key \(nor "timout", "size"\); allowed here: memory, timeout.*; did you mean "memory"\?/);
  });

  it('names a wrong value and says what is allowed', () => {
    invalid({ app: 'x', runtime: 'python2.7' }, /runtime is "python2.7"; expected one of "python3\.\d+", /);
    invalid({ app: 'x', function: { memory: 64 } }, /function\.memory is 64; expected an integer >= 128 <= 10240/);
    invalid({ app: 'Bad Name' }, /app is "Bad Name"; expected lowercase letters/);
    invalid({}, /app is missing/);
    invalid({ app: 'x', paths: { build: '../outside' } }, /paths\.build .* project-relative path/);
    invalid({ app: 'x', stages: { prod: { url: { auth: 'OPEN' } } } }, /stages\.prod\.url\.auth is "OPEN"; expected one of "NONE", "AWS_IAM"/);
  });

  it('checks the shape of user tasks (the graph analyzer checks how they fit the graph)', () => {
    invalid({ app: 'x', tasks: { t: { command: 1 } } }, /tasks\.t\.command is 1; expected a string/);
    invalid({ app: 'x', tasks: { t: { run: 'echo' } } }, /tasks\.t\.run is "echo"; expected a function/);
    invalid({ app: 'x', tasks: { Lint: { command: 'true' } } }, /tasks\.Lint is not a valid name; expected a task name/);
    invalid({ app: 'x', tasks: { t: { command: 'a', inputs: ['/etc/passwd'] } } }, /tasks\.t\.inputs\[0\] is "\/etc\/passwd"; expected a project-relative path/);
    invalid({ app: 'x', tasks: { t: { command: 'a', dependency: ['env'] } } }, /tasks\.t\.dependency is not a known key; .*did you mean "dependencies"\?/);
  });

  it('lists every issue, an array where an object belongs, and a missing key with what it expects', () => {
    invalid({ app: 'x', function: [] }, /^  function is an array; expected an object$/m);
    invalid({ app: 'x', docker: { env: [] } }, /docker\.env is an array; expected an object/);
    invalid({ region: 'nowhere' }, /^  app is missing; expected lowercase letters/m, /^  region is "nowhere"; expected an AWS region/m);
    invalid({ app: 'x', model: { hyperparameters: { depth: [1] } } }, /model\.hyperparameters\.depth is an array; expected a number or a string or true or false or null/);
  });

  it('takes the positive class, a reference population and the SHAP space, and refuses what cannot be met', () => {
    const model = validateConfig({ app: 'x', model: { positiveClass: 'bad', reference: { from: 'near-cutoff', size: 100, band: 0.02 }, shapOutput: 'probability' } }, 'f').model;
    assert.deepEqual([model?.positiveClass, model?.reference, model?.shapOutput], ['bad', { from: 'near-cutoff', size: 100, band: 0.02 }, 'probability']);
    validateConfig({ app: 'x', model: { positiveClass: 1, reference: { from: 'file', file: 'data/prototypes.csv' } } }, 'f');
    validateConfig({ app: 'x', model: { positiveClass: true, reference: { from: 'training' } } }, 'f');
    invalid({ app: 'x', model: { reference: { from: 'cutoff' } } }, /model\.reference\.from is "cutoff"; expected one of "training", "near-cutoff", "file"/);
    invalid({ app: 'x', model: { reference: { from: 'training', band: 0.1 } } }, /model\.reference\.band does not apply to from: 'training' \(it takes size\)/);
    invalid({ app: 'x', model: { reference: { from: 'file' } } }, /model\.reference\.file is missing; from: 'file' needs the CSV/);
    invalid({ app: 'x', model: { reference: { from: 'file', file: '/etc/passwd' } } }, /model\.reference\.file .* project-relative path/);
    invalid({ app: 'x', model: { reference: { from: 'training', size: 0 } } }, /model\.reference\.size is 0/);
    invalid({ app: 'x', model: { shapOutput: 'probability' } }, /model\.shapOutput is 'probability', which needs model\.reference/);
    invalid({ app: 'x', model: { shapOutput: 'margin' } }, /model\.shapOutput is "margin"; expected one of "log_odds", "probability"/);
    invalid({ app: 'x', model: { positiveClass: ['bad'] } }, /model\.positiveClass is an array/);
  });

  it('takes a fairness setting, and refuses a group that is a feature, one without data, and bands of no group', () => {
    const fairness = { groups: ['Personal status & sex', 'Age (years)'], bands: { 'Age (years)': [25, 40, 60] }, control: { 'Personal status & sex': 'male : single' }, minAir: 0.8, favourable: 'approve' };
    assert.deepEqual(validateConfig({ app: 'x', model: { data: 'data/credit.csv', target: 'Status', fairness } }, 'f').model?.fairness, fairness);
    invalid({ app: 'x', model: { data: 'd.csv', target: 'y', features: ['Age (years)', 'Duration'], fairness } },
      /model\.features lists "Age \(years\)", which model\.fairness\.groups lists: a protected attribute must not drive the decision/);
    invalid({ app: 'x', model: { fairness } }, /model\.fairness needs model\.data/);
    invalid({ app: 'x', model: { data: 'd.csv', target: 'y', fairness: { groups: ['Sex'], bands: { Age: [30] } } } }, /model\.fairness\.bands\.Age cuts "Age", which is not in model\.fairness\.groups/);
    invalid({ app: 'x', model: { data: 'd.csv', target: 'y', fairness: { groups: ['Sex'], minAir: 1.5 } } }, /model\.fairness\.minAir is 1\.5/);
  });

  it('checks defaultStage against the stages', () => {
    invalid({ app: 'x', stages: { dev: {} }, defaultStage: 'prod' }, /defaultStage is "prod"; expected one of the stages: dev/);
  });
});

describe('config validation: keep-warm, concurrency, audit and logs', () => {
  it('accepts rates in EventBridge\'s grammar, and false', () => {
    for (const keepWarm of ['1 minute', '5 minutes', '1 hour', '12 hours', '1 day', 'rate(10 minutes)', false]) {
      validateConfig({ app: 'x', function: { keepWarm } }, 'f');
    }
  });

  it('says what is wrong with a rate', () => {
    invalid({ app: 'x', function: { keepWarm: '1 minutes' } }, /function\.keepWarm is "1 minutes"; a value of 1 takes the singular unit: "1 minute"/);
    invalid({ app: 'x', function: { keepWarm: '5 hour' } }, /function\.keepWarm is "5 hour"; a value above 1 takes the plural unit: "5 hours"/);
    invalid({ app: 'x', function: { keepWarm: '5 minuts' } }, /the unit must be one of minute, minutes, hour, hours, day, days; did you mean "5 minutes"\?/);
    invalid({ app: 'x', function: { keepWarm: '0 minutes' } }, /the value must be a positive whole number/);
    invalid({ app: 'x', function: { keepWarm: '2.5 hours' } }, /the value must be a positive whole number/);
    invalid({ app: 'x', function: { keepWarm: 'every 5 minutes' } }, /expected a rate such as "5 minutes"/);
    invalid({ app: 'x', function: { keepWarm: true } }, /function\.keepWarm is true; expected a rate/);
    invalid({ app: 'x', stages: { prod: { function: { keepWarm: '1 days' } } } }, /stages\.prod\.function\.keepWarm is "1 days"; a value of 1 takes the singular unit: "1 day"/);
  });

  it('checks concurrency values and that provisioned fits in reserved, per stage', () => {
    invalid({ app: 'x', function: { reservedConcurrency: -1 } }, /function\.reservedConcurrency is -1; expected an integer >= 0/);
    invalid({ app: 'x', function: { provisionedConcurrency: 0 } }, /function\.provisionedConcurrency is 0; expected an integer >= 1/);
    invalid({ app: 'x', function: { reservedConcurrency: 2.5 } }, /expected an integer >= 0/);
    invalid({ app: 'x', function: { reservedConcurrency: 2, provisionedConcurrency: 3 } }, /function\.provisionedConcurrency is 3, above reservedConcurrency 2/);
    invalid(
      { app: 'x', function: { reservedConcurrency: 5 }, stages: { prod: { function: { provisionedConcurrency: 8 } } } },
      /stages\.prod\.function\.provisionedConcurrency is 8, above reservedConcurrency 5/,
    );
    validateConfig({ app: 'x', function: { reservedConcurrency: 0 } }, 'f');
    validateConfig({ app: 'x', function: { reservedConcurrency: 10, provisionedConcurrency: 10 } }, 'f');
  });

  it('names allowed values of audit.log and logs.retentionDays, with the nearest ones', () => {
    invalid({ app: 'x', audit: { log: 'decision' } }, /audit\.log is "decision"; expected one of "decisions", "full", "off"; did you mean "decisions"\?/);
    invalid({ app: 'x', logs: { retentionDays: 700 } }, /logs\.retentionDays is 700; expected one of 1, 3, 5, .*3653; the nearest: 545 or 731/);
    invalid({ app: 'x', logs: { retentionDays: 5000 } }, /the nearest: 3653$/m);
    invalid({ app: 'x', logs: { retention: 30 } }, /logs\.retention is not a known key; allowed here: retentionDays; did you mean "retentionDays"\?/);
    invalid({ app: 'x', function: { keepwarm: '5 minutes' } }, /function\.keepwarm is not a known key; allowed here: .*; did you mean "keepWarm"\?/);
    validateConfig({ app: 'x', audit: { log: 'off' }, logs: { retentionDays: 3653 }, stages: { prod: { audit: { log: 'full' }, logs: { retentionDays: 90 } } } }, 'f');
  });

  it('keeps the audit variables for pipe to set', () => {
    invalid({ app: 'x', function: { env: { PIPE_AUDIT_SALT: 'abc' } } }, /function\.env\.PIPE_AUDIT_SALT is set by pipe itself/);
    invalid({ app: 'x', stages: { dev: { function: { env: { PIPE_AUDIT_LOG: 'off' } } } } }, /stages\.dev\.function\.env\.PIPE_AUDIT_LOG is set by pipe itself .* set audit\.log instead/);
  });
});

describe('resolveConfig', () => {
  it('defaults: no keep-warm or concurrency settings, decisions logged, logs kept 731 days; a stage overrides', () => {
    const raw = validateConfig(
      { app: 'a', function: { keepWarm: '5 minutes', reservedConcurrency: 20 }, stages: { dev: { function: { keepWarm: false } }, prod: { audit: { log: 'full' }, logs: { retentionDays: 3653 } } } },
      'f',
    );
    const dev = resolveConfig(raw, '/p/pipeline.config.ts', 'dev');
    assert.equal(dev.function.keepWarm, undefined);
    assert.equal(dev.function.reservedConcurrency, 20);
    assert.equal(dev.function.provisionedConcurrency, undefined);
    assert.deepEqual(dev.audit, { log: 'decisions' });
    assert.deepEqual(dev.logs, { retentionDays: 731 });
    const prod = resolveConfig(raw, '/p/pipeline.config.ts', 'prod');
    assert.equal(prod.function.keepWarm, '5 minutes');
    assert.deepEqual(prod.audit, { log: 'full' });
    assert.deepEqual(prod.logs, { retentionDays: 3653 });
  });

  it('fills defaults and merges the stage over the top level', () => {
    const raw = validateConfig(
      { app: 'a', runtime: 'python3.11', function: { memory: 512, env: { A: '1' } }, stages: { prod: { region: 'eu-west-1', function: { memory: 2048, env: { B: '2' } } } } },
      'f',
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

describe('config validation: runtimes, architectures and limits from the Lambda facts', () => {
  it('refuses a runtime Lambda has blocked or deprecated, naming the dates and the supported ones', () => {
    const supported = supportedRuntimes().map((r) => `"${r}"`).join(', ');
    invalid({ app: 'x', runtime: 'python3.8' }, /runtime is "python3\.8"; Lambda no longer accepts it \(deprecated 2024-10-14, blocked since 2025-02-28\); expected one of/, new RegExp(`expected one of ${supported.replace(/\./g, '\\.')}`));
    invalid({ app: 'x', runtime: 'python3.7' }, /blocked since 2024-01-09/);
    // python3.9: no patches since 2025-12-15; from 2027-02-01 it is blocked too.
    const python39 = new Date() < new Date('2027-02-01')
      ? /runtime is "python3\.9"; deprecated since 2025-12-15: Lambda no longer patches it and blocks new functions from 2027-02-01/
      : /runtime is "python3\.9"; Lambda no longer accepts it \(deprecated 2025-12-15, blocked since 2027-02-01\)/;
    invalid({ app: 'x', runtime: 'python3.9' }, python39);
    assert.ok(!supportedRuntimes().includes('python3.9'));
  });

  it('accepts every runtime Lambda supports, python3.14 included, and defaults to the facts\' default', () => {
    for (const runtime of supportedRuntimes()) validateConfig({ app: 'x', runtime }, 'f');
    validateConfig({ app: 'x', runtime: 'python3.14' }, 'f');
    assert.equal(resolveConfig({ app: 'x' }, '/p/pipeline.config.ts', undefined).runtime, DEFAULT_RUNTIME);
    assert.equal(resolveConfig({ app: 'x', runtime: 'python3.14', architecture: 'arm64' }, '/p/pipeline.config.ts', undefined).image, 'public.ecr.aws/sam/build-python3.14:latest-arm64');
  });

  it('takes the architectures and the memory, timeout and storage ranges from the facts', () => {
    invalid({ app: 'x', architecture: 'aarch64' }, new RegExp(`architecture is "aarch64"; expected one of ${ARCHITECTURES.map((a) => `"${a}"`).join(', ')}`));
    invalid({ app: 'x', function: { memory: LIMITS.memoryMb.max + 1 } }, new RegExp(`function\\.memory is ${LIMITS.memoryMb.max + 1}; expected an integer >= ${LIMITS.memoryMb.min} <= ${LIMITS.memoryMb.max}`));
    invalid({ app: 'x', function: { timeout: LIMITS.timeoutSeconds.max + 1 } }, new RegExp(`<= ${LIMITS.timeoutSeconds.max}`));
    invalid({ app: 'x', stages: { prod: { function: { ephemeralStorage: LIMITS.ephemeralStorageMb.min - 1 } } } }, new RegExp(`stages\\.prod\\.function\\.ephemeralStorage is ${LIMITS.ephemeralStorageMb.min - 1}; expected an integer >= ${LIMITS.ephemeralStorageMb.min}`));
    validateConfig({ app: 'x', function: { memory: LIMITS.memoryMb.max, timeout: LIMITS.timeoutSeconds.max, ephemeralStorage: LIMITS.ephemeralStorageMb.max } }, 'f');
  });
});

describe('resolveConfig: the schema\'s defaults', () => {
  it('fills every default of a minimal config', () => {
    const c = resolveConfig({ app: 'x' }, '/p/pipeline.config.ts', undefined);
    assert.deepEqual(
      { region: c.region, architecture: c.architecture, runner: c.runner, python: c.python, buildEnv: c.buildEnv, docker: c.docker, paths: c.paths, model: c.model, function: c.function, audit: c.audit, logs: c.logs, url: c.url, aws: c.aws, stages: c.stages, stage: c.stage, tasks: c.tasks },
      {
        region: 'us-east-1', architecture: 'x86_64', runner: 'auto', python: 'python3', buildEnv: {},
        docker: { mountPath: '/var/task', binds: [], env: {} },
        paths: { python: 'python', handler: 'handler', artifacts: 'artifacts', build: 'build' },
        model: { seed: 42, hyperparameters: {} },
        function: { memory: 512, timeout: 30, ephemeralStorage: 512, env: {}, handler: 'app.handler', keepWarm: undefined },
        audit: { log: 'decisions' }, logs: { retentionDays: 731 }, url: { auth: 'NONE' }, aws: { endpoints: {} },
        stages: ['dev'], stage: 'dev', tasks: {},
      },
    );
  });

  it('a stage key left out or undefined inherits the top level; variables, endpoints and the rest merge', () => {
    const raw = validateConfig(
      {
        app: 'x', region: 'eu-west-1', function: { memory: 1024, timeout: 60, env: { A: '1' } }, url: { auth: 'AWS_IAM', cors: { allowOrigins: ['https://a'] } },
        aws: { profile: 'p', endpoints: { s3: 'http://s3' } },
        stages: { dev: { function: { memory: undefined } }, prod: { region: 'us-west-2', function: { timeout: 90, env: { B: '2' } }, url: { cors: { allowOrigins: ['*'] } }, aws: { endpoints: { lambda: 'http://l' } } } },
      },
      'f',
    );
    const dev = resolveConfig(raw, '/p/pipeline.config.ts', 'dev');
    assert.equal(dev.function.memory, 1024);
    assert.equal(dev.region, 'eu-west-1');
    const prod = resolveConfig(raw, '/p/pipeline.config.ts', 'prod');
    assert.deepEqual([prod.region, prod.function.memory, prod.function.timeout, prod.function.env], ['us-west-2', 1024, 90, { A: '1', B: '2' }]);
    assert.deepEqual(prod.url, { auth: 'AWS_IAM', cors: { allowOrigins: ['*'] } });
    assert.deepEqual(prod.aws, { profile: 'p', endpoints: { s3: 'http://s3', lambda: 'http://l' } });
    assert.deepEqual(prod.stages, ['dev', 'prod']);
  });
});

describe('release: strategy, retention and what a rollout watches', () => {
  it('defaults to all at once, 10 versions kept, 1% errors over at least 20 requests; a stage can roll out gradually', () => {
    const raw = { app: 'x', stages: { dev: {}, prod: { release: { strategy: { canary: { percent: 10, wait: '10 minutes' } }, alarms: ['x-prod-5xx'] } } } };
    const dev = resolveConfig(raw, '/p/pipeline.config.ts', 'dev');
    assert.deepEqual([dev.release.strategy, dev.release.keepVersions, dev.release.maxErrorRate, dev.release.minRequests, dev.release.alarms], ['all-at-once', 10, 0.01, 20, []]);
    const prod = resolveConfig(raw, '/p/pipeline.config.ts', 'prod');
    assert.deepEqual([prod.release.strategy, prod.release.alarms, prod.release.keepVersions], [{ canary: { percent: 10, wait: '10 minutes' } }, ['x-prod-5xx'], 10]);
  });

  it('a share, a duration or a strategy that is none of the three is refused, saying what it expects', () => {
    invalid({ app: 'x', release: { strategy: { canary: { percent: 10, wait: '10 mins' } } } }, /release\.strategy/, /"all-at-once"|canary/);
    invalid({ app: 'x', release: { strategy: { linear: { percent: 100, every: '1 minute' } } } }, /release\.strategy/);
    invalid({ app: 'x', release: { strategy: 'blue-green' } }, /release\.strategy/);
    invalid({ app: 'x', release: { keepVersions: 0 } }, /release\.keepVersions/, /an integer >= 1/);
    invalid({ app: 'x', release: { maxErrorRate: 5 } }, /release\.maxErrorRate/, /<= 1/);
  });
});
