import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeProject, runPipe, startPipe, until } from '../support/cli.js';

/** A three-task pipeline of shell commands: gen -> build -> report, and an independent `other`. */
const CONFIG = `
type Task = { command: string; dependencies?: string[]; inputs?: string[]; outputs?: string[]; description?: string };
const tasks: Record<string, Task> = {
  gen: { command: 'mkdir -p out && cat src/a.txt > out/gen.txt && echo gen >> runs.log', inputs: ['src/a.txt'], outputs: ['out/gen.txt'], description: 'generate' },
  build: { command: 'cat out/gen.txt src/b.txt > out/build.txt && echo build >> runs.log', dependencies: ['gen'], inputs: ['src/b.txt'], outputs: ['out/build.txt'] },
  report: { command: 'wc -c out/build.txt > out/report.txt && echo report >> runs.log', dependencies: ['build'], inputs: ['src/report.cfg'], outputs: ['out/report.txt'] },
  other: { command: 'mkdir -p out && cp src/c.txt out/other.txt && echo other >> runs.log', inputs: ['src/c.txt'], outputs: ['out/other.txt'] },
  slow: { command: 'mkdir -p out && echo partial > out/slow.txt && sleep 30 && echo done >> out/slow.txt', inputs: ['src/a.txt'], outputs: ['out/slow.txt'] },
  failing: { command: 'mkdir -p out && echo half > out/failing.txt && echo "something broke" >&2 && exit 3', inputs: ['src/a.txt'], outputs: ['out/failing.txt'] },
  locked: { command: 'while [ ! -f release ]; do sleep 0.02; done; echo locked >> runs.log && mkdir -p out && touch out/locked.txt', inputs: ['src/a.txt'], outputs: ['out/locked.txt'] },
};
export default { app: 'fixture', tasks };
`;

const runs = async (dir: string): Promise<string[]> =>
  existsSync(path.join(dir, 'runs.log')) ? (await readFile(path.join(dir, 'runs.log'), 'utf8')).trim().split('\n') : [];

describe('pipe CLI on a fixture project', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await makeProject({
      'pipeline.config.ts': CONFIG,
      'src/a.txt': 'alpha\n',
      'src/b.txt': 'beta\n',
      'src/c.txt': 'gamma\n',
      'src/report.cfg': 'x\n',
    }));
  });
  after(() => cleanup());

  it('lists built-in and config tasks in --help', async () => {
    const r = await runPipe(['--help'], { cwd: dir });
    assert.equal(r.code, 0);
    for (const name of ['env', 'model', 'package', 'deploy', 'update', 'undeploy', 'clean', 'gen', 'report']) assert.match(r.stdout, new RegExp(`^  ${name} `, 'm'));
    assert.match(r.stdout, /report +runs: wc -c .*\[after: build\]/);
  });

  it('--dry-run prints the plan in dependency order and writes nothing', async () => {
    const r = await runPipe(['report', '--dry-run'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1\. gen +run +no previous successful run\n +2\. build +run .*\n +3\. report +run/);
    assert.deepEqual((await readdir(dir)).sort(), ['pipeline.config.ts', 'src']);
  });

  it('runs dependencies first, then skips everything on a second run', async () => {
    const first = await runPipe(['report', 'other'], { cwd: dir });
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.deepEqual((await runs(dir)).filter((l) => l !== 'other'), ['gen', 'build', 'report']);
    assert.deepEqual((await runs(dir)).sort(), ['build', 'gen', 'other', 'report']);
    assert.equal(await readFile(path.join(dir, 'out/build.txt'), 'utf8'), 'alpha\nbeta\n');

    const second = await runPipe(['report', 'other'], { cwd: dir });
    assert.equal(second.code, 0);
    assert.equal((await runs(dir)).length, 4, 'nothing ran again');
    assert.match(second.stdout, /- gen: skipped \(up to date\)/);
    assert.match(second.stdout, /0 ran, 4 skipped/);
  });

  it('re-runs exactly the tasks affected by a changed input, and says why', async () => {
    await writeFile(path.join(dir, 'src/b.txt'), 'BETA\n');
    const r = await runPipe(['report', 'other'], { cwd: dir });
    assert.equal(r.code, 0);
    assert.deepEqual((await runs(dir)).slice(4), ['build', 'report']);
    assert.match(r.stdout, /> build: running \(inputs changed: src\/b\.txt\)/);
    assert.match(r.stdout, /> report: running \(dependency changed: build\)/);
    assert.match(r.stdout, /- other: skipped/);
  });

  it('re-runs a task whose output was deleted, and --force re-runs an up-to-date one', async () => {
    await (await import('node:fs/promises')).rm(path.join(dir, 'out/other.txt'));
    const r = await runPipe(['other'], { cwd: dir });
    assert.match(r.stdout, /running \(output missing: out\/other\.txt\)/);
    const forced = await runPipe(['other', '--force'], { cwd: dir });
    assert.match(forced.stdout, /running \(forced \(--force\)\)/);
  });

  it('--json prints one parseable summary on stdout', async () => {
    const r = await runPipe(['report', '--json'], { cwd: dir });
    assert.equal(r.code, 0);
    const doc = JSON.parse(r.stdout) as { ok: boolean; exitCode: number; tasks: { name: string; outcome: string; reason: string; durationMs: number }[] };
    assert.equal(doc.ok, true);
    assert.deepEqual(doc.tasks.map((t) => [t.name, t.outcome]), [['gen', 'skipped'], ['build', 'skipped'], ['report', 'skipped']]);
    assert.equal(doc.tasks[0]!.reason, 'up to date');
  });

  it('a failing task exits 1 with the command, exit code and stderr, and leaves no output', async () => {
    const r = await runPipe(['failing'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: failing: Command failed with exit code 3 \(task failing\): mkdir -p out/);
    assert.match(r.stderr, /something broke/);
    assert.equal(existsSync(path.join(dir, 'out/failing.txt')), false);
    assert.equal(existsSync(path.join(dir, '.pipe/state/failing.json')), false);
  });

  it('an unknown task exits 2 and suggests the closest name', async () => {
    const r = await runPipe(['reprot'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Unknown task "reprot"\. Did you mean "report"\?/);
  });

  it('an unknown option exits 2 and suggests the closest one', async () => {
    const r = await runPipe(['report', '--froce'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Unknown option --froce\. Did you mean --force\?/);
  });

  it('a task not built yet says so and exits 2', async () => {
    const r = await runPipe(['status'], { cwd: dir });
    if (/not available yet/.test(r.stderr)) assert.equal(r.code, 2);
    else assert.notEqual(r.code, 0, 'status without a deployment or credentials cannot succeed');
  });

  it('SIGINT mid-task exits 130, releases the lock and leaves no partial output', async () => {
    const { child, done } = startPipe(['slow'], { cwd: dir });
    await until(() => existsSync(path.join(dir, 'out/slow.txt')), 10_000, 'the task to start writing');
    child.kill('SIGINT');
    const r = await done;
    assert.equal(r.code, 130, r.stdout + r.stderr);
    assert.equal(existsSync(path.join(dir, 'out/slow.txt')), false, 'partial output removed');
    assert.equal(existsSync(path.join(dir, '.pipe/lock')), false, 'lock released');
    assert.equal(existsSync(path.join(dir, '.pipe/state/slow.json')), false, 'no state recorded');
  });

  it('two concurrent runs do not corrupt state: the second waits, then finds the work done', async () => {
    const a = startPipe(['locked'], { cwd: dir });
    await until(() => existsSync(path.join(dir, '.pipe/lock')), 10_000, 'the first run to take the lock');
    const b = startPipe(['locked'], { cwd: dir });
    let bOut = '';
    b.child.stdout!.on('data', (c: Buffer) => (bOut += c.toString()));
    // The first run holds the lock until the second one says it is waiting for it.
    await until(() => bOut.includes('Waiting for another pipe'), 10_000, 'the second run to wait');
    await writeFile(path.join(dir, 'release'), '');
    const [ra, rb] = await Promise.all([a.done, b.done]);
    assert.equal(ra.code, 0, ra.stderr);
    assert.equal(rb.code, 0, rb.stderr);
    assert.equal((await runs(dir)).filter((l) => l === 'locked').length, 1, 'the task ran once');
    assert.match(rb.stdout, /Waiting for another pipe \(pid \d+, running locked\)/);
    assert.match(rb.stdout, /- locked: skipped \(up to date\)/);
    JSON.parse(await readFile(path.join(dir, '.pipe/state/locked.json'), 'utf8'));
  });
});

describe('pipe CLI errors', () => {
  it('names the cycle and exits 2 before running anything', async () => {
    const { dir, cleanup } = await makeProject({
      'pipeline.config.ts': `export default { app: 'c', tasks: { a: { command: 'touch ran-a', dependencies: ['b'] }, b: { command: 'touch ran-b', dependencies: ['a'] } } };`,
    });
    try {
      const r = await runPipe(['a'], { cwd: dir });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /Dependency cycle: a -> b -> a/);
      assert.equal(existsSync(path.join(dir, 'ran-a')) || existsSync(path.join(dir, 'ran-b')), false);
    } finally {
      await cleanup();
    }
  });

  it('a config task that does not fit the graph exits 2 naming its key and line, before running anything', async () => {
    const { dir, cleanup } = await makeProject({
      'pipeline.config.ts': `export default {\n  app: 'c',\n  tasks: {\n    env: { command: 'touch ran-env' },\n    lint: { command: 'touch ran-lint', dependencies: ['modle'] },\n  },\n};\n`,
    });
    try {
      const r = await runPipe(['lint', '--json'], { cwd: dir });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /pipeline\.config\.ts: invalid configuration/);
      assert.match(r.stderr, /tasks\.env has the name of a built-in task/);
      assert.match(r.stderr, /tasks\.lint\.dependencies\[0\] is "modle", which is not a task; .*did you mean "model"\?/);
      const error = (JSON.parse(r.stdout) as { error?: { code: string; file?: string; line?: number } }).error;
      assert.deepEqual([error?.code, error?.file, error?.line], ['CONFIG_INVALID', path.join(dir, 'pipeline.config.ts'), 4]);
      assert.equal(existsSync(path.join(dir, 'ran-env')) || existsSync(path.join(dir, 'ran-lint')), false);
    } finally {
      await cleanup();
    }
  });

  it('an invalid config exits 2 naming the key, the file and what is allowed', async () => {
    const { dir, cleanup } = await makeProject({ 'pipeline.config.ts': `export default { app: 'c', runtime: 'python2.7', function: { memroy: 1 } };` });
    try {
      const r = await runPipe(['env', '--dry-run'], { cwd: dir });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /pipeline\.config\.ts: invalid configuration/);
      assert.match(r.stderr, /runtime is "python2\.7"; expected one of/);
      assert.match(r.stderr, /function\.memroy is not a known key; allowed here: memory/);
      assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace for a user error');
    } finally {
      await cleanup();
    }
  });

  it('a TypeScript syntax error in the config exits 2 with the location', async () => {
    const { dir, cleanup } = await makeProject({ 'pipeline.config.ts': `export default { app: 'c', };;; const x: = 1;` });
    try {
      const r = await runPipe(['env'], { cwd: dir });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /pipeline\.config\.ts:1:\d+/);
    } finally {
      await cleanup();
    }
  });
});
