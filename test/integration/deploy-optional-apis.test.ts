import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ResolvedConfig } from '../../src/config/resolved.js';
import { deployStage } from '../../src/aws/stages/deploy.js';
import { CONCURRENCY_MARKERS } from '../../src/aws/resources/concurrency.js';
import { LineReporter, startHarness, type Harness } from '../support/deploy-harness.js';

const withFunction = (config: ResolvedConfig, fn: Partial<ResolvedConfig['function']>): ResolvedConfig => ({ ...config, function: { ...config.function, ...fn } });

/**
 * An AWS-compatible endpoint without the optional concurrency APIs (an emulator answering them 404 with
 * a body that is not Lambda's error form): pipe reads an optional setting only when the config sets it or
 * pipe's tag on the function says pipe set it, and skips the account pre-check it cannot make.
 */
describe('deploy against an endpoint that lacks the optional concurrency APIs', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ withoutActions: ['GetProvisionedConcurrencyConfig', 'GetAccountSettings'] });
    await h.writePackage();
  });
  after(async () => h?.close());

  const actions = (from: number) => h.standIn.state.calls.slice(from).map((c) => c.action);

  it('deploys without asking for a setting the config does not have', async () => {
    const from = h.standIn.state.calls.length;
    await deployStage({ config: h.config, clients: h.clients(), reporter: new LineReporter() });
    const asked = actions(from);
    for (const action of ['GetProvisionedConcurrencyConfig', 'GetFunctionConcurrency', 'GetAccountSettings']) {
      assert.ok(!asked.includes(action), `${action} was called: ${asked.join(', ')}`);
    }
  });

  it('sets a reservation without the account pre-check, saying so, and tags the function', async () => {
    const reporter = new LineReporter();
    await deployStage({ config: withFunction(h.config, { reservedConcurrency: 5 }), clients: h.clients(), reporter });
    assert.match(reporter.text(), /the endpoint has no GetAccountSettings .*: the account's concurrency room is not checked first; the write decides/);
    const fn = h.standIn.state.functions.get('credit-dev')!;
    assert.equal(fn.reservedConcurrency, 5);
    assert.equal(fn.tags[CONCURRENCY_MARKERS.reserved], 'true');
  });

  it('a second deploy with nothing changed writes nothing', async () => {
    const writes = h.standIn.state.writeCalls().length;
    const clients = h.clients();
    const result = await deployStage({ config: withFunction(h.config, { reservedConcurrency: 5 }), clients, reporter: new LineReporter() });
    assert.equal(result.changed, false);
    assert.equal(h.standIn.state.writeCalls().length, writes);
  });

  it('removing the setting from the config still removes it, and its tag', async () => {
    const from = h.standIn.state.calls.length;
    const reporter = new LineReporter();
    await deployStage({ config: h.config, clients: h.clients(), reporter });
    const fn = h.standIn.state.functions.get('credit-dev')!;
    assert.equal(fn.reservedConcurrency, undefined);
    assert.equal(fn.tags[CONCURRENCY_MARKERS.reserved], undefined);
    assert.ok(actions(from).includes('DeleteFunctionConcurrency'));
    assert.match(reporter.text(), /concurrency cap of 5 removed/);
    assert.ok(!actions(from).includes('GetProvisionedConcurrencyConfig'), 'provisioned concurrency was never set: not read');
  });
});
