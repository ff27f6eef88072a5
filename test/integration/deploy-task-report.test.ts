import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { executeRun } from '../../src/executor/executor.js';
import { stepSummaryMarkdown } from '../../src/reporter/step-summary.js';
import type { TaskDefinition } from '../../src/task.js';
import { deployTask } from '../../tasks/deploy.js';
import { startHarness, type Harness } from '../support/deploy-harness.js';
import { RecordingReporter } from '../support/recording-reporter.js';

/** What deploy reports for the JSON summary and the CI step summary: the live URL and the bytes it uploaded. */
describe('deploy task report', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await h.writePackage();
  });
  after(async () => h?.close());

  // The package is written by the harness: deploy alone, without its build dependencies.
  const deployOnly: TaskDefinition = { ...deployTask, dependencies: [] };
  const deploy = async () => {
    const reporter = new RecordingReporter();
    const io = { interactive: false, confirm: async () => false, print: () => undefined };
    const report = await executeRun({ config: h.config, tasks: [deployOnly], requested: ['deploy'], options: {}, reporter, signal: new AbortController().signal, io, createRunner: async () => assert.fail('no runner') });
    assert.equal(report.exitCode, 0, JSON.stringify(report.error));
    return report;
  };

  it('carries the URL and the bytes uploaded; a second deploy uploads nothing', async () => {
    const first = await deploy();
    const task = first.tasks[0]!;
    assert.match(task.url ?? '', /^http:\/\/.+/);
    assert.ok((task.bytesUploaded ?? 0) > 0, `bytes uploaded: ${task.bytesUploaded}`);
    const md = stepSummaryMarkdown(first, 'pipe deploy');
    assert.ok(md.includes(`**URL:** ${task.url}`), md);
    assert.ok(md.includes(`(${task.bytesUploaded!.toLocaleString('en-US')} bytes)`), md);

    const second = await deploy();
    assert.equal(second.tasks[0]!.url, task.url);
    assert.equal(second.tasks[0]!.bytesUploaded, 0);
  });
});
