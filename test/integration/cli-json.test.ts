import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeProject, runPipe, startPipe, until } from '../support/cli.js';

interface Summary {
  ok: boolean;
  exitCode: number;
  tasks: { name: string; outcome: string }[];
  error?: { code: string; message: string; hint?: string; file?: string; line?: number };
}

/** `--json` ends every run with one JSON document on stdout, however the run ends. */
describe('pipe --json on every exit', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await makeProject({
      'pipeline.config.ts': `export default { app: 'j', tasks: {
        slow: { command: 'mkdir -p out && touch out/started && sleep 30' },
        first: { command: 'true' },
        stubborn: { command: 'trap "" INT TERM; mkdir -p out && echo $$ > out/stubborn && sleep 30', dependencies: ['first'] },
      } };`,
      'invalid/pipeline.config.ts': `export default {\n  app: 'j',\n  runtime: 'python2.7',\n};\n`,
    }));
  });
  after(() => cleanup());

  const summaryOf = (stdout: string): Summary => JSON.parse(stdout) as Summary;
  /** The summary of an interrupted run: exit 130, INTERRUPTED with this message and a hint matching `hint`. */
  const interrupted = (r: { code: number | null; stdout: string; stderr: string }, message: string, hint: RegExp): Summary => {
    assert.equal(r.code, 130, r.stderr);
    const doc = summaryOf(r.stdout);
    assert.equal(doc.ok, false);
    assert.equal(doc.exitCode, 130);
    assert.equal(doc.error?.code, 'INTERRUPTED');
    assert.equal(doc.error?.message, message);
    assert.match(doc.error?.hint ?? '', hint);
    return doc;
  };

  it('a config error: ok false, exit 2, code, message, hint, file and line', async () => {
    const r = await runPipe(['slow', '--json'], { cwd: path.join(dir, 'invalid') });
    assert.equal(r.code, 2, r.stderr);
    const doc = summaryOf(r.stdout);
    assert.equal(doc.ok, false);
    assert.equal(doc.exitCode, 2);
    assert.deepEqual(doc.tasks, []);
    assert.equal(doc.error?.code, 'CONFIG_INVALID');
    assert.match(doc.error?.message ?? '', /runtime is "python2\.7"/);
    assert.match(doc.error?.hint ?? '', /pipeline\.config\.ts/);
    assert.equal(doc.error?.file, path.join(dir, 'invalid', 'pipeline.config.ts'));
    assert.equal(doc.error?.line, 3);
    assert.match(r.stderr, /error: pipeline\.config\.ts: invalid configuration/, 'the human message stays on stderr');
  });

  it('usage errors: an unknown option, an unknown task, no task at all', async () => {
    const cases: [string[], string][] = [[['slow', '--jsno', '--json'], 'UNKNOWN_OPTION'], [['slwo', '--json'], 'UNKNOWN_TASK'], [['--json'], 'NO_TASK']];
    for (const [args, code] of cases) {
      const r = await runPipe(args, { cwd: dir });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      const doc = summaryOf(r.stdout);
      assert.equal(doc.ok, false);
      assert.equal(doc.exitCode, 2);
      assert.equal(doc.error?.code, code, args.join(' '));
      assert.ok(doc.error?.hint, `${args.join(' ')} has a hint`);
    }
  });

  it('an interrupt: exit 130 and the INTERRUPTED error naming the signal', async () => {
    const { child, done } = startPipe(['slow', '--json'], { cwd: dir });
    await until(() => existsSync(path.join(dir, 'out/started')), 10_000, 'the task to start');
    child.kill('SIGTERM');
    interrupted(await done, 'Interrupted by SIGTERM', /run the same command again/i);
  });

  it('a second interrupt: the process exits at once, the summary written first, with the tasks done', async () => {
    // The task ignores SIGTERM: the first signal's stop waits for its grace period, the second ends it.
    const { child, done } = startPipe(['stubborn', '--json'], { cwd: dir });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    await until(() => existsSync(path.join(dir, 'out/stubborn')), 10_000, 'the task to start');
    child.kill('SIGTERM');
    await until(() => stderr.includes('stopping (again to force)'), 10_000, 'the first signal to be taken');
    child.kill('SIGINT');
    const doc = interrupted(await done, 'Interrupted by SIGTERM, then stopped at once by a second SIGINT', /without cleaning up/);
    assert.deepEqual(doc.tasks.map((t) => [t.name, t.outcome]), [['first', 'succeeded']]);
    // The task's process group (its shell and the sleep) was killed, not left to run on (a killed
    // process stays a zombie until whoever inherited it reaps it).
    const group = Number(await readFile(path.join(dir, 'out/stubborn'), 'utf8'));
    const runs = async (pid: number) => !/^\d+ \(.*\) Z/.test(await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '0 () Z'));
    await until(async () => !(await runs(group)), 2_000, 'the task\'s processes to end').catch(() => assert.fail(`process ${group} still runs`));
  });
});
