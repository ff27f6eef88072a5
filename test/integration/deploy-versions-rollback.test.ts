import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PublishVersionCommand, UpdateFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { waitFunctionReady } from '../../src/aws/resources/wait-function.js';
import { deployStage } from '../../src/aws/stages/deploy.js';
import { listVersions, rollbackStage } from '../../src/aws/stages/versions.js';
import { exitCodeOf, PipeError } from '../../src/errors.js';
import { BROKEN_HANDLER, HANDLER, LineReporter, startHarness, type Harness } from '../support/deploy-harness.js';

const handler = (version: string) => HANDLER.replace('VERSION = "v1"', `VERSION = "${version}"`);

/** Versions and rollback on the stand-in, with the call meter: three deploys, back and forth, a refusal. */
describe('pipe versions and pipe rollback', () => {
  let h: Harness;
  let url: string;
  const run = () => ({ config: h.config, clients: h.clients(), reporter: new LineReporter() });
  const served = async () => ((await (await fetch(new URL('health', url))).json()) as { version: string }).version;

  before(async () => {
    h = await startHarness();
    for (const v of ['v1', 'v2', 'v3']) {
      await h.writePackage({ handler: handler(v) });
      url = (await deployStage(run())).url;
    }
  });
  after(async () => h?.close());

  it('lists the versions newest first, each with the version live had before it and the aliases on it', async () => {
    const { rows } = await listVersions(run());
    assert.deepEqual(rows.map((r) => [r.version, r.note?.previous, [...r.aliases].sort()]), [
      ['3', '2', ['candidate', 'live']],
      ['2', '1', []],
      ['1', undefined, []],
    ]);
    assert.ok(rows.every((r) => r.published && r.note));
  });

  it('rollback smoke-tests the version before and moves live to it; a second rollback writes nothing', async () => {
    const first = await rollbackStage(run());
    assert.deepEqual([first.from, first.version, first.changed], ['3', '2', true]);
    assert.equal(await served(), 'v2');
    const writes = h.standIn.state.writeCalls().length;
    const again = await rollbackStage(run());
    assert.deepEqual([again.version, again.changed], ['2', false]);
    assert.equal(h.standIn.state.writeCalls().length, writes, 'no write call');
    assert.equal(h.standIn.state.calls.filter((c) => c.action === 'UpdateFunctionCode' || c.action === 'PublishVersion').slice(-1)[0]?.action, 'PublishVersion', 'nothing uploaded by rollbacks');
    const forward = await rollbackStage({ ...run(), to: '3' });
    assert.deepEqual([forward.from, forward.version], ['2', '3']);
    assert.equal(await served(), 'v3');
  });

  it('refuses a broken version, leaving live where it was, and a version pipe did not publish', async () => {
    await h.writePackage({ handler: BROKEN_HANDLER });
    await assert.rejects(deployStage(run()), (error: unknown) => error instanceof PipeError && error.code === 'SMOKE_TEST_FAILED');
    assert.equal(await served(), 'v3');
    const broken = (await listVersions(run())).rows[0]!;
    assert.deepEqual([broken.version, broken.aliases], ['4', ['candidate']]);
    await assert.rejects(rollbackStage({ ...run(), to: '4' }), (error: unknown) => error instanceof PipeError && error.code === 'SMOKE_TEST_FAILED');
    assert.equal(await served(), 'v3', 'live stays');

    // A version someone published by hand, of a configuration pipe never released.
    const clients = h.clients();
    await clients.lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'credit-dev', MemorySize: 256 }));
    await waitFunctionReady(clients, 'credit-dev', undefined);
    const foreign = await clients.lambda.send(new PublishVersionCommand({ FunctionName: 'credit-dev', Description: 'published by hand' }));
    assert.equal(foreign.Version, '5');
    await assert.rejects(rollbackStage({ ...run(), to: foreign.Version! }), (error: unknown) =>
      error instanceof PipeError && error.code === 'ROLLBACK_NOT_PIPES' && exitCodeOf(error) === 2);
    await assert.rejects(rollbackStage({ ...run(), to: '99' }), (error: unknown) => error instanceof PipeError && error.code === 'ROLLBACK_NO_VERSION');
  });
});
