import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deployStage } from '../../src/aws/stages/deploy.js';
import { runPipe } from '../support/cli.js';
import { EXAMPLE, LineReporter, startHarness, type Harness } from '../support/deploy-harness.js';

/** The real CLI (bin/pipe.js, built dist) against a stage deployed on the stand-in: option parsing end to end. */
describe('pipe status / logs / undeploy through the CLI', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await startHarness();
    await writeFile(path.join(h.root, 'pipeline.config.ts'), "export default { app: 'credit', runtime: 'python3.11', stages: { dev: {}, prod: {} } };\n");
    await h.writePackage();
    url = (await deployStage({ config: h.config, clients: h.clients(), reporter: new LineReporter() })).url;
    assert.equal((await fetch(new URL('health', url))).status, 200);
  });
  after(async () => h?.close());

  it('status prints the URL, the live version and that the code is up to date', async () => {
    const r = await runPipe(['status'], { cwd: h.root });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, new RegExp(`url +${url.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    assert.match(r.stdout, /live +version 1/);
    assert.match(r.stdout, /\(up to date\)/);
  });

  it('logs --since prints the invocations of the smoke test', async () => {
    const r = await runPipe(['logs', '--since', '10m'], { cwd: h.root });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /START RequestId: \S+ Version: 1/);
  });

  it('logs --since -10m (a minus: "ago") reads the same events', async () => {
    const r = await runPipe(['logs', '--since', '-10m'], { cwd: h.root });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /START RequestId: \S+ Version: 1/);
  });

  it('invoke --deployed sends the request to the live Function URL', async () => {
    const r = await runPipe(['invoke', '--deployed', '--data', JSON.stringify(EXAMPLE)], { cwd: h.root });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.ok(r.stdout.includes(`POST ${new URL('predict', url)}`), r.stdout);
    assert.match(r.stdout, /HTTP 200/);
    assert.match(r.stdout, /"probability"/);
  });

  it('undeploy without a TTY and without --yes exits 2 and removes nothing', async () => {
    const r = await runPipe(['undeploy'], { cwd: h.root });
    assert.equal(r.code, 2, r.stderr + r.stdout);
    assert.match(r.stdout + r.stderr, /--yes/);
    assert.equal(h.standIn.state.functions.size, 1);
  });

  it('undeploy --yes --remove-logs removes the stage', async () => {
    const r = await runPipe(['undeploy', '--yes', '--remove-logs'], { cwd: h.root });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(h.standIn.state.functions.size, 0);
    assert.equal(h.standIn.state.roles.size, 0);
    assert.equal(h.standIn.state.logGroups.size, 0);
  });
});
