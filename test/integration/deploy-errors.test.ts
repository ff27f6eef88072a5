import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { deployStage } from '../../src/aws/stages/deploy.js';
import { updateStageCode } from '../../src/aws/stages/update.js';
import { PipeError, UsageError } from '../../src/errors.js';
import type { TaskContext } from '../../src/task.js';
import { undeployTask } from '../../tasks/undeploy.js';
import { LineReporter, startHarness, type Harness } from '../support/deploy-harness.js';

const code = (c: string) => (e: unknown) => e instanceof PipeError && e.code === c;

describe('deploy error paths and recovery', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('fails before any AWS work when there are no credentials, saying what to do', async () => {
    h = await startHarness();
    await h.writePackage();
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    await assert.rejects(deployStage({ config: h.config, clients: h.clients(), reporter: new LineReporter() }), (e: unknown) =>
      code('AWS_CREDENTIALS_MISSING')(e) && /aws configure/.test((e as PipeError).hint ?? ''));
    assert.equal(h.standIn.state.calls.length, 0);
  });

  it('names the denied action and the resource', async () => {
    h = await startHarness();
    await h.writePackage();
    h.standIn.faults.accessDenied('lambda:CreateFunction');
    await assert.rejects(deployStage({ config: h.config, clients: h.clients(), reporter: new LineReporter() }), (e: unknown) =>
      code('AWS_ACCESS_DENIED')(e) && /lambda:CreateFunction on function credit-dev/.test((e as Error).message));
  });

  it('refuses a wheel needing a newer glibc than python3.11 has, naming it, without calling AWS', async () => {
    h = await startHarness();
    await h.writePackage({ wheels: [{ name: 'scipy', version: '1.16.0', tags: ['cp311-cp311-manylinux_2_28_x86_64'] }] });
    await assert.rejects(deployStage({ config: h.config, clients: h.clients(), reporter: new LineReporter() }), (e: unknown) =>
      code('WHEEL_INCOMPATIBLE')(e) && /scipy-1\.16\.0: needs glibc 2\.28/.test((e as Error).message));
    assert.equal(h.standIn.state.calls.length, 0);
  });

  it('refuses a package over the unzipped limit with the sizes and the options', async () => {
    h = await startHarness();
    await h.writePackage({ layerUnzippedSize: 446_693_376 });
    await assert.rejects(deployStage({ config: h.config, clients: h.clients(), reporter: new LineReporter() }), (e: unknown) =>
      code('PACKAGE_TOO_LARGE')(e) && /262,144,000/.test((e as Error).message) && /--slim/.test((e as PipeError).hint ?? '') &&
      /\(handler\/requirements\.txt\)/.test((e as PipeError).hint ?? ''));
    assert.equal(h.standIn.state.calls.length, 0);
  });

  it('refuses a package without an example request for the smoke test before calling AWS', async () => {
    h = await startHarness();
    await h.writePackage({ noExample: true });
    await assert.rejects(deployStage({ config: h.config, clients: h.clients(), reporter: new LineReporter() }), (e: unknown) =>
      code('PACKAGE_INVALID')(e) && /no example request/.test((e as Error).message) && /example_request/.test((e as PipeError).hint ?? ''));
    assert.equal(h.standIn.state.calls.length, 0);
  });

  it('retries throttling, 5xx, IAM propagation delay and in-progress conflicts', async () => {
    h = await startHarness({ rolePropagationFailures: 2 });
    await h.writePackage();
    h.standIn.faults.throttle('lambda:CreateFunction', 2);
    h.standIn.faults.serverError('lambda:PublishVersion', 1);
    h.standIn.faults.throttle('iam:CreateRole', 1);
    const result = await deployStage({ config: h.config, clients: h.clients(), reporter: new LineReporter() });
    assert.equal(result.version, '1');
    const creates = h.standIn.state.calls.filter((c) => c.action === 'CreateFunction').length;
    assert.ok(creates >= 5, `CreateFunction called ${creates} times`);
  });

  it('an interrupted deploy is finished by the next run, publishing a single version', async () => {
    h = await startHarness();
    await h.writePackage();
    const controller = new AbortController();
    const reporter = new LineReporter();
    const line = reporter.line.bind(reporter);
    reporter.line = (text: string) => {
      line(text);
      if (text.startsWith('published version')) controller.abort();
    };
    await assert.rejects(deployStage({ config: h.config, clients: h.clients(), reporter, signal: controller.signal }));
    const fn = h.standIn.state.functions.get('credit-dev')!;
    assert.equal(fn.aliases.get('live'), undefined, 'nothing went live');
    const result = await deployStage({ config: h.config, clients: h.clients(), reporter: new LineReporter() });
    assert.equal(result.version, '1');
    assert.equal(fn.versions.size, 1);
    assert.equal((await fetch(new URL('health', result.url))).status, 200);
  });

  it('an AWS_IAM URL gets no public permissions and is smoke-tested with signed requests', async () => {
    h = await startHarness({ config: { url: { auth: 'AWS_IAM' } } });
    await h.writePackage();
    const result = await deployStage({ config: h.config, clients: h.clients(), reporter: new LineReporter() });
    const fn = h.standIn.state.functions.get('credit-dev')!;
    assert.equal(fn.urlConfigs.get('live')?.authType, 'AWS_IAM');
    assert.deepEqual(fn.policies.get('live') ?? [], []);
    assert.equal((await fetch(new URL('health', result.url))).status, 403, 'unsigned requests are refused');
  });

  it('refuses to take over a function of the same name that pipe did not create', async () => {
    h = await startHarness();
    await h.writePackage();
    await deployStage({ config: h.config, clients: h.clients(), reporter: new LineReporter() });
    h.standIn.state.functions.get('credit-dev')!.tags = {};
    await assert.rejects(deployStage({ config: h.config, clients: h.clients(), reporter: new LineReporter() }), code('FUNCTION_NOT_MANAGED'));
  });

  it('update without a deployment says to run deploy', async () => {
    h = await startHarness();
    await h.writePackage();
    await assert.rejects(updateStageCode({ config: h.config, clients: h.clients(), reporter: new LineReporter() }), (e: unknown) =>
      code('NO_DEPLOYMENT')(e) && /pipe deploy/.test((e as PipeError).hint ?? ''));
  });

  it('update refuses changed runtime deps, says to deploy, and leaves the live version alone', async () => {
    h = await startHarness();
    await h.writePackage();
    const first = await deployStage({ config: h.config, clients: h.clients(), reporter: new LineReporter() });
    await h.writePackage({ layerPadding: 1024 });
    const clients = h.clients();
    await assert.rejects(updateStageCode({ config: h.config, clients, reporter: new LineReporter() }), (e: unknown) =>
      code('DEPS_CHANGED')(e) && /pipe deploy/.test((e as PipeError).hint ?? ''));
    assert.equal(clients.meter.writes.length, 0, 'no write call');
    assert.equal((await fetch(new URL('health', first.url))).status, 200);
  });

  it('undeploy without a terminal requires --yes and removes nothing', async () => {
    h = await startHarness();
    const ctx = {
      name: 'undeploy', config: h.config, root: h.root, options: {}, reporter: new LineReporter(), signal: new AbortController().signal,
      io: { interactive: false, confirm: async () => assert.fail('must not ask without a TTY'), print: () => {} },
      runner: async () => assert.fail('no runner needed'), staging: (p: string) => p,
    } as unknown as TaskContext;
    await assert.rejects(undeployTask.run(ctx), (e: unknown) => e instanceof UsageError && e.code === 'CONFIRMATION_REQUIRED' && /--yes/.test(e.hint ?? ''));
    assert.equal(h.standIn.state.calls.length, 0);
  });
});
