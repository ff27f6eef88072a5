import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GithubActionsReporter } from '../../src/reporter/github-actions-reporter.js';
import { annotation } from '../../src/reporter/workflow-commands.js';

function reporter(opts: { stepSummaryFile?: string; workspace?: string } = {}) {
  let text = '';
  const r = new GithubActionsReporter({ out: { write: (t) => (text += t) }, title: 'pipe deploy', workspace: opts.workspace ?? '/repo', stepSummaryFile: opts.stepSummaryFile });
  return { r, lines: () => text.trimEnd().split('\n') };
}

describe('GitHub Actions reporter', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-gha-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it('writes each task log in its own group, even when tasks run concurrently', async () => {
    const { r, lines } = reporter();
    r.planned([{ name: 'a', action: 'run', reason: 'inputs changed' }, { name: 'b', action: 'run', reason: 'forced' }, { name: 'c', action: 'skip', reason: 'up to date' }]);
    const a = r.taskStarted('a', 'inputs changed');
    const b = r.taskStarted('b', 'forced');
    a.line('a one');
    b.line('b one');
    r.taskSkipped('c', 'up to date');
    a.line('a two');
    b.line('b two');
    const bReport = { name: 'b', outcome: 'succeeded', reason: 'forced', durationMs: 1200, summary: 'b done' } as const;
    const aReport = { name: 'a', outcome: 'succeeded', reason: 'inputs changed', durationMs: 3400 } as const;
    r.taskFinished(bReport);
    r.taskFinished(aReport);
    await r.finished({ ok: true, exitCode: 0, durationMs: 3500, tasks: [aReport, bReport, { name: 'c', outcome: 'skipped', reason: 'up to date', durationMs: 0 }] });
    const out = lines();
    const start = (name: string) => out.indexOf(out.find((l) => l.startsWith(`::group::${name} (`))!);
    const [ga, gb] = [start('a'), start('b')];
    assert.ok(ga >= 0 && gb > ga, out.join('\n'));
    const groupA = out.slice(ga, out.indexOf('::endgroup::', ga) + 1);
    const groupB = out.slice(gb, out.indexOf('::endgroup::', gb) + 1);
    assert.ok(groupA.some((l) => l.endsWith('a | a one')) && groupA.some((l) => l.endsWith('a | a two')), groupA.join('\n'));
    assert.ok(!groupA.some((l) => /b (one|two)|skipped/.test(l)), `group a holds only a's lines:\n${groupA.join('\n')}`);
    assert.ok(groupB.some((l) => l.endsWith('b | b one')) && groupB.some((l) => l.endsWith('b | b two')), groupB.join('\n'));
    // Outcomes follow their group (visible when it is collapsed); the skip waited for the open group.
    assert.match(out[ga + groupA.length]!, /^ok a in 3\.4s/);
    assert.match(out[gb + groupB.length]!, /^ok b in 1\.2s: b done/);
    assert.ok(out.findIndex((l) => l === '- c: skipped (up to date)') > ga + groupA.length - 1);
    assert.equal(out.filter((l) => l.startsWith('::group::')).length, out.filter((l) => l === '::endgroup::').length);
    assert.equal(out.at(-1), 'done: 2 ran, 1 skipped in 3.5s');
  });

  it('annotates a failed task with its message and hint', async () => {
    const { r, lines } = reporter();
    r.planned([{ name: 'model', action: 'run', reason: 'forced' }]);
    r.taskStarted('model', 'forced').line('training');
    const error = { code: 'COMMAND_FAILED', message: 'Command failed with exit code 1: python train.py\n  ValueError: 100% bad', hint: 'Fix the data.' };
    r.taskFinished({ name: 'model', outcome: 'failed', reason: 'forced', durationMs: 10, error });
    await r.finished({ ok: false, exitCode: 1, durationMs: 20, tasks: [{ name: 'model', outcome: 'failed', reason: 'forced', durationMs: 10, error }], error });
    const errors = lines().filter((l) => l.startsWith('::error'));
    assert.deepEqual(errors, ['::error title=pipe%3A model failed::Command failed with exit code 1: python train.py%0A  ValueError: 100%25 bad%0Ahint: Fix the data.']);
  });

  it('points a config error at its file and line, relative to the workspace', async () => {
    const { r, lines } = reporter({ workspace: '/repo' });
    const error = { code: 'CONFIG_INVALID', message: 'pipeline.config.ts: invalid configuration', hint: 'Edit it.', file: '/repo/app/pipeline.config.ts', line: 7, column: 3 };
    await r.finished({ ok: false, exitCode: 2, durationMs: 5, tasks: [], error });
    assert.deepEqual(lines(), ['::error title=pipe%3A CONFIG_INVALID,file=app/pipeline.config.ts,line=7,col=3::pipeline.config.ts: invalid configuration%0Ahint: Edit it.']);
  });

  it('appends a Markdown summary: tasks, outcomes, times, the URL and the bytes uploaded', async () => {
    const file = path.join(dir, 'summary.md');
    await writeFile(file, '# earlier step\n');
    const { r } = reporter({ stepSummaryFile: file });
    const url = 'https://abc.lambda-url.us-east-1.on.aws/';
    await r.finished({
      ok: true, exitCode: 0, durationMs: 61_000,
      tasks: [
        { name: 'env', outcome: 'skipped', reason: 'up to date', durationMs: 0 },
        { name: 'package', outcome: 'succeeded', reason: 'inputs changed: handler/app.py', durationMs: 2500, summary: 'function 40 KB | layer 16 MB' },
        { name: 'deploy', outcome: 'succeeded', reason: 'always runs', durationMs: 12_000, summary: `${url} (version 3)`, url, bytesUploaded: 40_960 },
      ],
    });
    const md = await readFile(file, 'utf8');
    assert.ok(md.startsWith('# earlier step\n### pipe deploy: succeeded in 1m1s'), md);
    assert.ok(md.includes('| env | ⏭️ skipped |  | up to date |'), md);
    assert.ok(md.includes('| package | ✅ ran | 2.5s | function 40 KB \\| layer 16 MB |'), md);
    assert.ok(md.includes(`| deploy | ✅ ran | 12.0s | ${url} (version 3) |`), md);
    assert.ok(md.includes(`**URL:** ${url}`), md);
    assert.ok(md.includes('**Uploaded:** 40 KB (40,960 bytes)'), md);
  });

  it('escapes workflow command data and properties', () => {
    assert.equal(annotation('warning', 'a:b,c\r\nd%', { title: 'x:y,z' }), '::warning title=x%3Ay%2Cz::a:b,c%0D%0Ad%25');
  });
});
