import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { deployStage } from '../../src/aws/stages/deploy.js';
import { stageStatus } from '../../src/aws/stages/status.js';
import { printLogs } from '../../src/aws/stages/logs.js';
import { undeployStage } from '../../src/aws/stages/undeploy.js';
import { updateStageCode } from '../../src/aws/stages/update.js';
import { PipeError } from '../../src/errors.js';
import { BROKEN_HANDLER, EXAMPLE, HANDLER, LineReporter, startHarness, type Harness } from '../support/deploy-harness.js';

const predict = async (url: string) => {
  const res = await fetch(new URL('predict', url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(EXAMPLE) });
  return { status: res.status, body: (await res.json()) as { probability: number; version: string } };
};

describe('deploy lifecycle against s3rver and the AWS stand-in', () => {
  let h: Harness;
  let url = '';
  let firstBytes = 0;

  before(async () => {
    h = await startHarness();
    // A realistic layer: 2 MB of incompressible deps, next to a tiny handler.
    await h.writePackage({ layerPadding: 2 * 1024 * 1024 });
  });
  after(async () => h?.close());

  it('first deploy creates everything and the printed URL answers /predict', async () => {
    const clients = h.clients();
    const reporter = new LineReporter();
    const result = await deployStage({ config: h.config, clients, reporter });
    url = result.url;
    firstBytes = clients.meter.bytesUploaded;
    assert.equal(result.changed, true);
    const fn = h.standIn.state.functions.get('credit-dev');
    assert.ok(fn, 'function created');
    assert.deepEqual(fn.tags, { 'pipe:project': 'credit', 'pipe:stage': 'dev', 'pipe:managed': 'true' });
    assert.equal(fn.aliases.get('live')?.functionVersion, '1');
    assert.equal(fn.urlConfigs.get('live')?.authType, 'NONE');
    assert.equal(fn.urlConfigs.get('candidate')?.authType, 'AWS_IAM', 'the candidate URL is never public');
    const sids = (fn.policies.get('live') ?? []).map((s) => s.Action).sort();
    assert.deepEqual(sids, ['lambda:InvokeFunction', 'lambda:InvokeFunctionUrl']);
    assert.equal(fn.latest.settings.layers.length, 1);
    const role = h.standIn.state.roles.get('credit-dev-lambda');
    assert.ok(role, 'role created');
    assert.equal(role.attachedPolicies.size, 0);
    const policy = JSON.parse(role.inlinePolicies.get('pipe-function')!) as { Statement: { Action: string | string[]; Resource: string }[] };
    assert.deepEqual(policy.Statement.map((s) => s.Resource), [
      'arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/credit-dev',
      'arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/credit-dev:*',
    ], 'least privilege: its own log group only');
    assert.match(reporter.text(), /size strategy: deps in a layer/);
    const answer = await predict(url);
    assert.equal(answer.status, 200);
    assert.equal(answer.body.probability, 0.453);
    assert.ok(firstBytes > 2 * 1024 * 1024, `uploaded ${firstBytes}`);
  });

  it('a second deploy with nothing changed writes nothing and uploads nothing', async () => {
    const writesBefore = h.standIn.state.writeCalls().length;
    const objectsBefore = await readdir(h.s3.directory, { recursive: true });
    const clients = h.clients();
    const result = await deployStage({ config: h.config, clients, reporter: new LineReporter() });
    assert.equal(result.changed, false);
    assert.equal(result.url, url);
    assert.deepEqual(h.standIn.state.writeCalls().slice(writesBefore), []);
    assert.equal(clients.meter.writes.length, 0);
    assert.equal(clients.meter.bytesUploaded, 0);
    assert.deepEqual(await readdir(h.s3.directory, { recursive: true }), objectsBefore);
  });

  it('update after a handler change uploads only the small function zip and moves the alias', async () => {
    await h.writePackage({ layerPadding: 2 * 1024 * 1024, handler: HANDLER.replace('VERSION = "v1"', 'VERSION = "v2"') });
    const clients = h.clients();
    const result = await updateStageCode({ config: h.config, clients, reporter: new LineReporter() });
    assert.equal(result.version, '2');
    assert.ok(clients.meter.bytesUploaded > 0 && clients.meter.bytesUploaded < firstBytes / 100, `${clients.meter.bytesUploaded} vs ${firstBytes}`);
    assert.equal(h.standIn.state.functions.get('credit-dev')?.aliases.get('live')?.functionVersion, '2');
    assert.equal((await predict(url)).body.version, 'v2');
  });

  it('a version failing its smoke test never goes live, and the old one keeps serving', async () => {
    await h.writePackage({ layerPadding: 2 * 1024 * 1024, handler: BROKEN_HANDLER.replace('VERSION = "v1"', 'VERSION = "v3"') });
    await assert.rejects(
      updateStageCode({ config: h.config, clients: h.clients(), reporter: new LineReporter() }),
      (e: unknown) => e instanceof PipeError && e.code === 'SMOKE_TEST_FAILED' && /still serves version 2/.test(e.hint ?? ''),
    );
    const fn = h.standIn.state.functions.get('credit-dev')!;
    assert.equal(fn.aliases.get('live')?.functionVersion, '2');
    assert.equal(fn.aliases.get('candidate')?.functionVersion, '3');
    const answer = await predict(url);
    assert.equal(answer.status, 200);
    assert.equal(answer.body.version, 'v2');
  });

  it('status shows the live version and that the local code differs; logs show the invocations', async () => {
    const status = await stageStatus({ config: h.config, clients: h.clients(), reporter: new LineReporter() });
    assert.equal(status.liveVersion, '2');
    assert.equal(status.url, url);
    assert.equal(status.upToDate, false);
    const lines: string[] = [];
    const count = await printLogs(h.clients(), { logGroup: '/aws/lambda/credit-dev', startTime: Date.now() - 600_000, follow: false, print: (l) => lines.push(l) });
    assert.ok(count > 0);
    assert.ok(lines.some((l) => /START RequestId: .* Version: 2/.test(l)), lines.slice(0, 5).join('\n'));
  });

  it('logs --follow polls until the signal aborts', async () => {
    const controller = new AbortController();
    const lines: string[] = [];
    const following = printLogs(h.clients(), {
      logGroup: '/aws/lambda/credit-dev', startTime: Date.now(), follow: true, pollSeconds: 0.02, signal: controller.signal,
      print: (l) => {
        lines.push(l);
        controller.abort();
      },
    });
    await predict(url);
    await following;
    assert.ok(lines.length >= 1);
  });

  it('undeploy removes everything pipe created, and a second undeploy finds nothing', async () => {
    h.standIn.faults.accessDenied('iam:DeleteRole');
    await assert.rejects(undeployStage({ config: h.config, clients: h.clients(), reporter: new LineReporter(), removeLogs: true }), /iam:DeleteRole/);
    h.standIn.faults.allow('iam:DeleteRole');
    const result = await undeployStage({ config: h.config, clients: h.clients(), reporter: new LineReporter(), removeLogs: true });
    assert.ok(result.removed.includes('role credit-dev-lambda'), 'finishes the partial undeploy');
    const state = h.standIn.state;
    assert.equal(state.functions.size, 0);
    assert.equal([...state.layers.values()].reduce((n, l) => n + l.versions.size, 0), 0);
    assert.equal(state.roles.size, 0);
    assert.equal(state.logGroups.size, 0);
    assert.deepEqual((await readdir(h.s3.directory)).filter((d) => !d.startsWith('.')), []);
    const again = await undeployStage({ config: h.config, clients: h.clients(), reporter: new LineReporter(), removeLogs: true });
    assert.deepEqual(again.removed, []);
  });
});
