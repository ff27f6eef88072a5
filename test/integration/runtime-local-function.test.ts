import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { FunctionInitError, LocalFunction, type LocalFunctionOptions } from '../../src/runtime/local-function.js';

const fixtures = path.resolve('test/fixtures/runtime');
const started: LocalFunction[] = [];

function make(handler: string, options: Partial<LocalFunctionOptions> = {}): { fn: LocalFunction; logs: string[] } {
  const logs: string[] = [];
  const fn = new LocalFunction({ codeDir: fixtures, handler, onLog: (line) => logs.push(line), ...options });
  started.push(fn);
  return { fn, logs };
}

after(async () => {
  await Promise.all(started.map((fn) => fn.stop()));
});

describe('LocalFunction with a real python3', () => {
  it('starts once, reports init time, and returns the handler result', async () => {
    const { fn } = make('handlers.echo');
    const { initMs } = await fn.start();
    assert.ok(initMs >= 0 && initMs < 5000, `initMs ${initMs}`);
    const first = await fn.invoke({ a: 1, nested: { b: [1, 2, 'x'] }, text: 'é ✓' });
    assert.deepEqual(first.result, { a: 1, nested: { b: [1, 2, 'x'] }, text: 'é ✓' });
    assert.equal(first.error, undefined);
    assert.equal(first.initMs, undefined, 'no cold start after start()');
    assert.match(first.requestId, /^[0-9a-f-]{36}$/);
    const pid = fn.pid;
    await fn.invoke(null);
    assert.equal(fn.pid, pid, 'the same process serves every invocation');
  });

  it('imports the module once per process (module state survives invocations)', async () => {
    const { fn } = make('handlers.describe');
    const a = (await fn.invoke({})).result as { startedAt: number };
    const b = (await fn.invoke({})).result as { startedAt: number };
    assert.equal(a.startedAt, b.startedAt);
  });

  it('passes a Lambda-like context and environment', async () => {
    const { fn } = make('handlers.describe', { functionName: 'credit-dev', memoryMb: 512, timeoutSeconds: 30, region: 'eu-west-1' });
    const outcome = await fn.invoke({});
    const result = outcome.result as Record<string, any>;
    assert.equal(result.functionName, 'credit-dev');
    assert.equal(result.memory, '512');
    assert.equal(result.requestId, outcome.requestId);
    assert.equal(result.arn, 'arn:aws:lambda:eu-west-1:000000000000:function:credit-dev');
    assert.equal(result.logGroup, '/aws/lambda/credit-dev');
    assert.ok(result.remainingMs > 25_000 && result.remainingMs <= 30_000, `remaining ${result.remainingMs}`);
    assert.deepEqual(result.env, { AWS_LAMBDA_FUNCTION_NAME: 'credit-dev', LAMBDA_TASK_ROOT: fixtures, _HANDLER: 'handlers.describe', AWS_REGION: 'eu-west-1' });
    assert.equal(result.cwd, fixtures);
    assert.equal(result.path0, fixtures);
  });

  it('isolates the function from the host site-packages and adds layers to the path', async () => {
    const isolated = make('handlers.has_site_packages').fn;
    assert.equal((await isolated.invoke({})).result, false);
    const layered = make('handlers.uses_layer', { layerDirs: [path.join(fixtures, 'layer')] }).fn;
    assert.equal((await layered.invoke({})).result, 'from the layer');
  });

  it('reports a handler exception as a function error and keeps serving', async () => {
    const { fn, logs } = make('handlers.fail');
    const outcome = await fn.invoke({ field: 'age' });
    assert.equal(outcome.result, undefined);
    assert.equal(outcome.error?.errorType, 'ValueError');
    assert.equal(outcome.error?.errorMessage, 'bad input: age');
    assert.ok(outcome.error?.stackTrace?.some((frame) => frame.includes('handlers.py')));
    assert.ok(logs.some((line) => line.includes('[ERROR]') && line.includes('bad input: age')));
    assert.equal((await fn.invoke({ field: 'x' })).error?.errorMessage, 'bad input: x');
  });

  it('keeps handler prints out of the protocol and forwards them as log lines', async () => {
    const { fn, logs } = make('handlers.noisy');
    const outcome = await fn.invoke({});
    assert.deepEqual(outcome.result, { ok: true });
    for (const expected of ['printed by the handler', 'written to sys.stdout', 'written to fd 1', 'to stderr']) {
      assert.ok(logs.includes(expected), `log line "${expected}" in ${JSON.stringify(logs)}`);
    }
    assert.ok(logs.some((line) => line.startsWith('START RequestId: ')));
    assert.ok(logs.some((line) => line.startsWith('REPORT RequestId: ')));
  });

  it('runs concurrent invocations one at a time, in order', async () => {
    const { fn } = make('handlers.echo');
    const outcomes = await Promise.all([1, 2, 3, 4, 5].map((n) => fn.invoke({ n })));
    assert.deepEqual(outcomes.map((o) => (o.result as { n: number }).n), [1, 2, 3, 4, 5]);
  });

  it('rejects start() with the init error, its message and the log tail', async () => {
    const { fn } = make('broken_init.handler');
    await assert.rejects(fn.start(), (error: unknown) => {
      assert.ok(error instanceof FunctionInitError);
      assert.equal(error.error.errorType, 'RuntimeError');
      assert.match(error.message, /cannot load artifacts/);
      assert.ok(error.stderrTail.some((line) => line.includes('broken_init.py')));
      return true;
    });
    const outcome = await fn.invoke({});
    assert.equal(outcome.error?.errorType, 'RuntimeError', 'invoke reports the init error like Lambda');
  });

  it('names a missing module or handler like Lambda', async () => {
    await assert.rejects(make('missing_module.handler').fn.start(), /Runtime.ImportModuleError: Unable to import module 'missing_module'/);
    await assert.rejects(make('handlers.nope').fn.start(), /Runtime.HandlerNotFound/);
  });

  it('fails clearly when the interpreter does not exist', async () => {
    await assert.rejects(make('handlers.echo', { python: 'python3-does-not-exist' }).fn.start(), (error: any) => {
      assert.equal(error.code, 'FUNCTION_START_FAILED');
      assert.match(error.message, /python3-does-not-exist/);
      return true;
    });
  });

  it('queues an invocation made while start() is still importing the handler', async () => {
    const { fn } = make('handlers.echo');
    const starting = fn.start();
    const outcome = await fn.invoke({ early: true });
    await starting;
    assert.deepEqual(outcome.result, { early: true });
  });

  it('gives up on an import that exceeds the init timeout', async () => {
    const { fn } = make('slow_init.handler', { initTimeoutSeconds: 1 });
    await assert.rejects(fn.start(), (error: unknown) => {
      assert.ok(error instanceof FunctionInitError);
      assert.equal(error.error.errorType, 'Sandbox.Timedout');
      assert.match(error.hint ?? '', /took longer than Lambda's init phase allows/);
      return true;
    });
    assert.equal(fn.pid, undefined);
  });

  it('kills a timed-out invocation and starts a fresh process for the next one', async () => {
    const { fn } = make('handlers.sleep', { timeoutSeconds: 1 });
    await fn.start();
    const pid = fn.pid;
    const t0 = Date.now();
    const outcome = await fn.invoke({ seconds: 30 });
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal(outcome.error?.errorType, 'Sandbox.Timedout');
    assert.match(outcome.error?.errorMessage ?? '', /Task timed out after 1.00 seconds/);
    const next = await fn.invoke({ seconds: 0 });
    assert.deepEqual(next.result, { slept: 0 });
    assert.ok(next.initMs !== undefined, 'the next invocation is a cold start');
    assert.notEqual(fn.pid, pid);
  });

  it('reports sys.exit and a crash as Runtime.ExitError and recovers', async () => {
    const exiting = make('handlers.exit_process').fn;
    const first = await exiting.invoke({});
    assert.equal(first.error?.errorType, 'Runtime.ExitError');
    assert.match(first.error?.errorMessage ?? '', /exit status 3/);
    assert.equal((await exiting.invoke({})).error?.errorType, 'Runtime.ExitError');
    const crashing = make('handlers.crash').fn;
    const crashed = await crashing.invoke({});
    assert.equal(crashed.error?.errorType, 'Runtime.ExitError');
    assert.match(crashed.error?.errorMessage ?? '', /exit status 7/);
  });

  it('turns unserialisable results into Runtime.MarshalError', async () => {
    assert.equal((await make('handlers.unserialisable').fn.invoke({})).error?.errorType, 'Runtime.MarshalError');
    assert.equal((await make('handlers.not_a_number').fn.invoke({})).error?.errorType, 'Runtime.MarshalError');
  });

  it('enforces the 6 MB request and response limits', async () => {
    const { fn } = make('handlers.big');
    await assert.rejects(fn.invoke({ pad: 'x'.repeat(6 * 1024 * 1024) }), /REQUEST_TOO_LARGE|exceeds Lambda's limit/);
    const tooBig = await fn.invoke({ size: 6 * 1024 * 1024 + 10 });
    assert.equal(tooBig.error?.errorType, 'Function.ResponseSizeTooLarge');
    const fits = await fn.invoke({ size: 1000 });
    assert.equal(fits.result, 'x'.repeat(1000));
  });

  it('stop() ends the process and later invocations are refused', async () => {
    const { fn } = make('handlers.echo');
    await fn.start();
    const pid = fn.pid!;
    await fn.stop();
    assert.equal(fn.pid, undefined);
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
    await assert.rejects(fn.invoke({}), /stopped/);
  });

  it('stop() during a slow import ends it at once', async () => {
    const { fn } = make('slow_init.handler', { initTimeoutSeconds: 60 });
    const starting = fn.start();
    const rejected = assert.rejects(starting, /stopped/);
    const t0 = Date.now();
    await fn.stop();
    await rejected;
    assert.ok(Date.now() - t0 < 5000, `stopped after ${Date.now() - t0} ms`);
  });

  it('stop() during a running invocation rejects it', async () => {
    const { fn } = make('handlers.sleep', { timeoutSeconds: 60 });
    await fn.start();
    const pending = fn.invoke({ seconds: 30 });
    const rejected = assert.rejects(pending, /stopped/);
    await fn.stop();
    await rejected;
  });
});
