import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveConfig } from '../../src/config/resolved.js';
import { UsageError, exitCodeOf } from '../../src/errors.js';
import { executeRun } from '../../src/executor/executor.js';
import type { Runner } from '../../src/runners/runner.js';
import type { TaskDefinition, TaskIo } from '../../src/task.js';
import { RecordingReporter } from '../support/recording-reporter.js';

const io: TaskIo = { interactive: false, confirm: async () => false, print: () => {} };
const noRunner = async () => {
  throw new Error('no runner in these tests');
};

describe('executeRun', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'pipe-exec-'));
    await writeFile(path.join(root, 'in.txt'), 'x');
  });
  after(() => rm(root, { recursive: true, force: true }));
  const config = () => resolveConfig({ app: 'x' }, path.join(root, 'pipeline.config.ts'), undefined);
  const run = (tasks: TaskDefinition[], requested: string[], signal = new AbortController().signal) =>
    executeRun({ config: config(), tasks, requested, options: {}, reporter: new RecordingReporter(), signal, io, createRunner: noRunner });

  it('runs independent tasks concurrently (each waits for the other to start)', { timeout: 5000 }, async () => {
    let startA!: () => void;
    let startB!: () => void;
    const aStarted = new Promise<void>((r) => (startA = r));
    const bStarted = new Promise<void>((r) => (startB = r));
    const tasks: TaskDefinition[] = [
      { name: 'a', description: '', dependencies: [], run: async () => { startA(); await bStarted; } },
      { name: 'b', description: '', dependencies: [], run: async () => { startB(); await aStarted; } },
    ];
    const report = await run(tasks, ['a', 'b']);
    assert.equal(report.exitCode, 0);
  });

  it('runs a task that two others depend on once, before both', async () => {
    const calls: string[] = [];
    const task = (name: string, ...dependencies: string[]): TaskDefinition => ({ name, description: '', dependencies, run: async () => void calls.push(name) });
    const report = await run([task('base'), task('left', 'base'), task('right', 'base'), task('top', 'left', 'right')], ['top']);
    assert.equal(report.exitCode, 0);
    assert.equal(calls.filter((c) => c === 'base').length, 1);
    assert.equal(calls[0], 'base');
    assert.equal(calls.at(-1), 'top');
  });

  it('does not run dependents of a failed task, and reports them as not run', async () => {
    const calls: string[] = [];
    const tasks: TaskDefinition[] = [
      { name: 'broken', description: '', dependencies: [], run: async () => { throw new Error('boom'); } },
      { name: 'after', description: '', dependencies: ['broken'], run: async () => void calls.push('after') },
    ];
    const report = await run(tasks, ['after']);
    assert.equal(report.exitCode, 1);
    assert.deepEqual(calls, []);
    assert.deepEqual(report.tasks.map((t) => [t.name, t.outcome]), [['broken', 'failed'], ['after', 'cancelled']]);
    assert.match(report.tasks[1]!.reason, /dependency broken failed/);
  });

  it('promotes a staged output only on success and records the fingerprint after it', async () => {
    const make = (fail: boolean): TaskDefinition => ({
      name: 'build',
      description: '',
      dependencies: [],
      inputs: () => ['in.txt'],
      outputs: () => ['out'],
      run: async (ctx) => {
        await writeFile(ctx.staging('out'), fail ? 'half' : 'whole');
        if (fail) throw new Error('failed after writing');
      },
    });
    const failed = await run([make(true)], ['build']);
    assert.equal(failed.exitCode, 1);
    const report = failed.tasks.find((t) => t.name === 'build')!;
    assert.equal(report.outcome, 'failed');
    assert.equal(report.error?.message, 'failed after writing');
    assert.equal((report.cause as Error).message, 'failed after writing', 'the report carries the error itself');
    assert.equal(existsSync(path.join(root, 'out')), false, 'no output from a failed run');
    assert.equal(existsSync(path.join(root, 'out.pipe-staging')), false, 'no staging left');
    assert.equal(existsSync(path.join(root, '.pipe/state/build.json')), false);

    const ok = await run([make(false)], ['build']);
    assert.equal(ok.exitCode, 0);
    assert.equal(await readFile(path.join(root, 'out'), 'utf8'), 'whole');
    assert.ok(existsSync(path.join(root, '.pipe/state/build.json')));
    const again = await run([make(false)], ['build']);
    assert.equal(again.tasks[0]!.outcome, 'skipped');
  });

  it('an aborted run cancels what has not started and exits 130', async () => {
    const controller = new AbortController();
    const calls: string[] = [];
    const tasks: TaskDefinition[] = [
      { name: 'first', description: '', dependencies: [], run: async () => { calls.push('first'); controller.abort(); } },
      { name: 'second', description: '', dependencies: ['first'], run: async () => void calls.push('second') },
    ];
    const report = await run(tasks, ['second'], controller.signal);
    assert.equal(report.exitCode, 130);
    assert.deepEqual(calls, ['first']);
    assert.equal(existsSync(path.join(root, '.pipe/lock')), false, 'lock released');
    assert.equal(report.error?.code, 'INTERRUPTED', 'an interrupted run carries its error');
  });

  it('rejects a task that depends on an explicit-only one, before planning (exit 2)', async () => {
    const reporter = new RecordingReporter();
    const tasks: TaskDefinition[] = [
      { name: 'serve', description: '', dependencies: [], explicitOnly: true, run: async () => assert.fail('must not run') },
      { name: 'smoke', description: '', dependencies: ['serve'], run: async () => assert.fail('must not run') },
    ];
    await assert.rejects(
      executeRun({ config: config(), tasks, requested: ['smoke'], options: {}, reporter, signal: new AbortController().signal, io, createRunner: noRunner }),
      (e: any) => e.code === 'EXPLICIT_ONLY_DEPENDENCY' && exitCodeOf(e) === 2 && /"smoke" depends on "serve"/.test(e.message),
    );
    assert.deepEqual(reporter.plan, []);
  });

  it("checks the requested tasks' options before planning (exit 2, nothing planned)", async () => {
    const reporter = new RecordingReporter();
    const tasks: TaskDefinition[] = [{
      name: 'serve', description: '', dependencies: [], explicitOnly: true,
      checkOptions: (options) => {
        if (options.port !== 3000) throw new UsageError('BAD_PORT', '--port is wrong');
      },
      run: async () => assert.fail('must not run'),
    }];
    await assert.rejects(
      executeRun({ config: config(), tasks, requested: ['serve'], options: { port: 1 }, reporter, signal: new AbortController().signal, io, createRunner: noRunner }),
      (e: any) => e.code === 'BAD_PORT' && exitCodeOf(e) === 2,
    );
    assert.deepEqual(reporter.plan, []);
  });

  it('runs the preflight of a task that always runs before planning, which may need the runner', async () => {
    let runnerCreated = false;
    const tasks: TaskDefinition[] = [
      { name: 'build', description: '', dependencies: [], inputs: () => ['in.txt'], outputs: () => ['built'], usesRunner: true, run: async () => undefined },
      { name: 'serve', description: '', dependencies: ['build'], explicitOnly: true, preflight: async () => { throw new UsageError('PORT_BUSY', 'port in use'); }, run: async () => undefined },
    ];
    const createRunner = async () => {
      runnerCreated = true;
      throw new Error('planning asked for the runner');
    };
    const reporter = new RecordingReporter();
    await assert.rejects(
      executeRun({ config: config(), tasks, requested: ['serve'], options: {}, reporter, signal: new AbortController().signal, io, createRunner }),
      (e: any) => e.code === 'PORT_BUSY',
    );
    assert.equal(runnerCreated, false, 'the preflight failed before planning touched the runner');
    assert.deepEqual(reporter.plan, []);
  });

  describe('the runner: identified for the plan, prepared only before a task that uses it runs', () => {
    /** A runner whose image is missing until prepared: what `identify` and `prepare` were asked is recorded. */
    const fakeRunner = (calls: string[]): Runner => {
      let pulled = false;
      return {
        kind: 'docker', projectDir: '/', python: 'python3', pythonVersion: '3.12.1', envKey: 'docker-fake',
        describe: () => 'docker (fake)',
        identify: async () => {
          calls.push('identify');
          return { tools: { imageId: pulled ? 'sha256:abc' : 'not present locally (would be pulled)' }, ready: pulled };
        },
        prepare: async ({ reporter }) => {
          calls.push('prepare');
          reporter.line('pulling image fake', 'info');
          pulled = true;
        },
        exec: async () => ({ stdout: '' }),
        functionHost: async () => assert.fail('not served here'),
        dispose: async () => {},
      };
    };
    const build = (ran: string[]): TaskDefinition => ({
      name: 'build', description: '', dependencies: [], inputs: () => ['in.txt'], outputs: () => ['built'], usesRunner: true,
      run: async (ctx) => {
        const runner = await ctx.runner();
        ran.push(`build with ${runner.pythonVersion}`);
        await writeFile(ctx.staging('built'), 'x');
      },
    });

    it('a dry run identifies and never prepares (no pull, no container)', async () => {
      const calls: string[] = [];
      const reporter = new RecordingReporter();
      const report = await executeRun({ config: config(), tasks: [build([])], requested: ['build'], options: {}, reporter, signal: new AbortController().signal, io, dryRun: true, createRunner: async () => fakeRunner(calls) });
      assert.equal(report.exitCode, 0);
      assert.deepEqual(calls, ['identify']);
      assert.equal(report.tasks[0]!.wouldRun, true);
    });

    it('prepares before the task runs (a run-level notice) and records the identity after the pull', async () => {
      const calls: string[] = [];
      const ran: string[] = [];
      const reporter = new RecordingReporter();
      const report = await executeRun({ config: config(), tasks: [build(ran)], requested: ['build'], options: {}, reporter, signal: new AbortController().signal, io, createRunner: async () => fakeRunner(calls) });
      assert.equal(report.exitCode, 0);
      assert.deepEqual(calls, ['identify', 'prepare', 'identify']);
      assert.deepEqual(ran, ['build with 3.12.1']);
      const started = reporter.events.findIndex((e) => e.startsWith('start build'));
      assert.ok(started > 0 && reporter.events.indexOf('notice pulling image fake') === started - 1, reporter.events.join('\n'));
      const state = JSON.parse(await readFile(path.join(root, '.pipe/state/build.json'), 'utf8')) as { parts: { tools: Record<string, string> } };
      assert.deepEqual(state.parts.tools, { imageId: 'sha256:abc' });
    });
  });

  it("carries a task result's URL and uploaded bytes into its report", async () => {
    const tasks: TaskDefinition[] = [{ name: 'deploy', description: '', dependencies: [], run: async () => ({ summary: 'ok', url: 'https://x.example/', bytesUploaded: 1234 }) }];
    const report = await run(tasks, ['deploy']);
    assert.deepEqual([report.tasks[0]!.url, report.tasks[0]!.bytesUploaded], ['https://x.example/', 1234]);
  });
});
