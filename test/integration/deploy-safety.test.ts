import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { ResolvedConfig } from '../../src/config/resolved.js';
import { deployStage } from '../../src/aws/stages/deploy.js';
import { undeployStage } from '../../src/aws/stages/undeploy.js';
import { updateStageCode } from '../../src/aws/stages/update.js';
import { PipeError, exitCodeOf } from '../../src/errors.js';
import { HANDLER, LineReporter, startHarness, type Harness } from '../support/deploy-harness.js';

const ALIAS_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:credit-dev:live';
const withFunction = (config: ResolvedConfig, fn: Partial<ResolvedConfig['function']>, more: Partial<ResolvedConfig> = {}): ResolvedConfig =>
  ({ ...config, ...more, function: { ...config.function, ...fn } });

describe('deploy: keep-warm schedule, concurrency, log retention and audit settings', () => {
  let h: Harness;
  let config: ResolvedConfig;
  let salt = '';

  before(async () => {
    h = await startHarness();
    await h.writePackage();
    config = withFunction(h.config, { keepWarm: '5 minutes', provisionedConcurrency: 2, reservedConcurrency: 5 }, {
      logs: { retentionDays: 90 }, audit: { log: 'full' },
    });
  });
  after(async () => h?.close());

  it('creates the log group with its retention first, the rule on the live alias, the cap and the provisioned instances', async () => {
    const reporter = new LineReporter();
    await deployStage({ config, clients: h.clients(), reporter });
    const state = h.standIn.state;
    const group = state.logGroups.get('/aws/lambda/credit-dev')!;
    assert.equal(group.retentionInDays, 90);
    assert.deepEqual(group.tags, { 'pipe:project': 'credit', 'pipe:stage': 'dev', 'pipe:managed': 'true' });
    const order = state.writeCalls().map((c) => c.action);
    assert.ok(order.indexOf('CreateLogGroup') < order.indexOf('CreateFunction'), `the group exists before the function runs: ${order.join(', ')}`);

    const rule = state.eventRules.get('credit-dev-keep-warm')!;
    assert.equal(rule.scheduleExpression, 'rate(5 minutes)');
    assert.equal(rule.state, 'ENABLED');
    assert.deepEqual(rule.tags, [{ Key: 'pipe:project', Value: 'credit' }, { Key: 'pipe:stage', Value: 'dev' }, { Key: 'pipe:managed', Value: 'true' }]);
    assert.deepEqual([...rule.targets.values()], [{ Id: 'pipe-keep-warm', Arn: ALIAS_ARN, Input: '{"pipe":"warm-up"}' }]);
    assert.deepEqual(h.standIn.fireRule('credit-dev-keep-warm'), [{ functionName: 'credit-dev', qualifier: 'live', version: '1', event: { pipe: 'warm-up' } }]);
    const grant = state.functions.get('credit-dev')!.policies.get('live')!.find((s) => s.Sid === 'pipe-keep-warm')!;
    assert.deepEqual(grant.Principal, { Service: 'events.amazonaws.com' });
    assert.deepEqual(grant.Condition, { ArnLike: { 'AWS:SourceArn': rule.arn } }, 'only this rule may invoke through it');

    const fn = state.functions.get('credit-dev')!;
    assert.equal(fn.reservedConcurrency, 5);
    assert.equal(fn.provisioned.get('live')?.requested, 2);
    const env = fn.latest.settings.environment;
    assert.equal(env['PIPE_AUDIT_LOG'], 'full');
    assert.match(env['PIPE_AUDIT_SALT'] ?? '', /^[0-9a-f]{64}$/);
    salt = env['PIPE_AUDIT_SALT']!;
    assert.equal(fn.versions.get('1')?.settings.environment['PIPE_AUDIT_SALT'], salt, 'the live version has it too');

    const text = reporter.text();
    assert.ok(!text.includes(salt), 'the salt is never printed');
    assert.match(text, /provisioned concurrency: 2 x 512 MB costs about \$10\.95 a month while configured \(an estimate at the us-east-1 list price for x86_64/);
    assert.doesNotMatch(text, /reservedConcurrency/, 'no warning: the URL is capped');
  });

  it('a second deploy with nothing changed writes nothing', async () => {
    const before = h.standIn.state.writeCalls().length;
    const clients = h.clients();
    const result = await deployStage({ config, clients, reporter: new LineReporter() });
    assert.equal(result.changed, false);
    assert.deepEqual(h.standIn.state.writeCalls().slice(before).map((c) => `${c.service}:${c.action}`), []);
    assert.equal(clients.meter.writes.length, 0);
  });

  it('changes are applied in place: a new rate, fewer instances, a lower cap, another retention; the salt stays', async () => {
    config = withFunction(config, { keepWarm: '1 hour', provisionedConcurrency: 1, reservedConcurrency: 3 }, { logs: { retentionDays: 365 }, audit: { log: 'decisions' } });
    const reporter = new LineReporter();
    await deployStage({ config, clients: h.clients(), reporter });
    const state = h.standIn.state;
    assert.equal(state.eventRules.get('credit-dev-keep-warm')?.scheduleExpression, 'rate(1 hour)');
    const fn = state.functions.get('credit-dev')!;
    assert.equal(fn.reservedConcurrency, 3);
    assert.equal(fn.provisioned.get('live')?.requested, 1);
    assert.equal(state.logGroups.get('/aws/lambda/credit-dev')?.retentionInDays, 365);
    assert.match(reporter.text(), /logs kept 365 days \(was 90 days\)/);
    assert.equal(fn.latest.settings.environment['PIPE_AUDIT_LOG'], 'decisions');
    assert.equal(fn.latest.settings.environment['PIPE_AUDIT_SALT'], salt);
    assert.equal(fn.versions.get(fn.aliases.get('live')!.functionVersion)?.settings.environment['PIPE_AUDIT_LOG'], 'decisions', 'live serves the new setting');
  });

  it('update (code only) keeps the audit variables and the salt, and says when audit.log needs a deploy', async () => {
    await h.writePackage({ handler: HANDLER.replace('VERSION = "v1"', 'VERSION = "v2"') });
    const reporter = new LineReporter();
    await updateStageCode({ config: { ...config, audit: { log: 'off' } }, clients: h.clients(), reporter });
    assert.match(reporter.text(), /audit\.log is "off" in the config but "decisions" deployed: run `pipe deploy` to apply it/);
    const fn = h.standIn.state.functions.get('credit-dev')!;
    const live = fn.versions.get(fn.aliases.get('live')!.functionVersion)!;
    assert.equal(live.settings.environment['PIPE_AUDIT_SALT'], salt);
    assert.equal(live.settings.environment['PIPE_AUDIT_LOG'], 'decisions');
    assert.equal(fn.provisioned.get('live')?.requested, 1, 'provisioned instances follow the alias');
    assert.equal(h.standIn.fireRule('credit-dev-keep-warm')[0]?.version, live.version, 'the schedule warms the new live version');
  });

  it('settings removed from the config are removed from AWS; the public URL gets its one warning', async () => {
    config = withFunction(config, { keepWarm: undefined, provisionedConcurrency: undefined, reservedConcurrency: undefined });
    const reporter = new LineReporter();
    await deployStage({ config, clients: h.clients(), reporter });
    const state = h.standIn.state;
    assert.equal(state.eventRules.size, 0);
    const fn = state.functions.get('credit-dev')!;
    assert.equal(fn.reservedConcurrency, undefined);
    assert.equal(fn.provisioned.size, 0);
    assert.equal((fn.policies.get('live') ?? []).some((s) => s.Sid === 'pipe-keep-warm'), false, 'the rule\'s permission is gone too');
    const warnings = reporter.lines.filter((l) => /function\.reservedConcurrency/.test(l));
    assert.equal(warnings.length, 1, reporter.text());
    assert.match(warnings[0]!, /public \(url\.auth NONE\).*reservedConcurrency: 10/);
  });

  it('undeploy removes the schedule and keeps the log group with its retention unless --remove-logs', async () => {
    config = withFunction(config, { keepWarm: '5 minutes' });
    await deployStage({ config, clients: h.clients(), reporter: new LineReporter() });
    assert.equal(h.standIn.state.eventRules.size, 1);
    const result = await undeployStage({ config, clients: h.clients(), reporter: new LineReporter(), removeLogs: false });
    assert.ok(result.removed.includes('keep-warm schedule (rule credit-dev-keep-warm)'), result.removed.join(', '));
    assert.equal(h.standIn.state.eventRules.size, 0);
    assert.equal(h.standIn.state.functions.size, 0);
    assert.equal(h.standIn.state.logGroups.get('/aws/lambda/credit-dev')?.retentionInDays, 365);
    const again = await undeployStage({ config, clients: h.clients(), reporter: new LineReporter(), removeLogs: false });
    assert.deepEqual(again.removed, []);
  });
});

describe('deploy: a concurrency the account cannot give', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('fails before any write, with the account\'s numbers instead of AWS\'s message', async () => {
    h = await startHarness({ accountConcurrency: 10, config: { function: { reservedConcurrency: 5 } } });
    await h.writePackage();
    await assert.rejects(deployStage({ config: h.config, clients: h.clients(), reporter: new LineReporter() }), (e: unknown) => {
      assert.ok(e instanceof PipeError, String(e));
      assert.equal(e.code, 'CONCURRENCY_UNAVAILABLE');
      assert.equal(exitCodeOf(e), 1);
      assert.equal(
        e.message,
        'function.reservedConcurrency is 5, but account 123456789012 in us-east-1 can give credit-dev at most 0: its concurrency limit is 10, ' +
          '0 reserved by other functions, and Lambda keeps 100 unreserved',
      );
      assert.match(e.hint ?? '', /Lower function\.reservedConcurrency or remove it, or ask AWS for a higher "Concurrent executions" quota/);
      assert.doesNotMatch(e.message, /UnreservedConcurrentExecution/);
      return true;
    });
    assert.deepEqual(h.standIn.state.writeCalls(), []);
  });

  it('counts what other functions reserved, and says how much is left', async () => {
    h = await startHarness({ accountConcurrency: 1000, config: { function: { reservedConcurrency: 500 } } });
    await h.writePackage();
    await deployStage({ config: h.config, clients: h.clients(), reporter: new LineReporter() });
    const prod = resolveProd(h, 450);
    await assert.rejects(deployStage({ config: prod, clients: h.clients(), reporter: new LineReporter() }), (e: unknown) =>
      e instanceof PipeError && /is 450, but .* at most 400: its concurrency limit is 1000, 500 reserved by other functions/.test(e.message) &&
      /to 400 or less/.test(e.hint ?? ''));
  });

  it('provisioned instances without a cap come out of the unreserved pool, which must keep 100', async () => {
    h = await startHarness({ accountConcurrency: 10, config: { function: { provisionedConcurrency: 1 } } });
    await h.writePackage();
    await assert.rejects(deployStage({ config: h.config, clients: h.clients(), reporter: new LineReporter() }), (e: unknown) =>
      e instanceof PipeError && e.code === 'CONCURRENCY_UNAVAILABLE' && /^function\.provisionedConcurrency is 1, .*limit is 10/.test(e.message));
    assert.deepEqual(h.standIn.state.writeCalls(), []);
  });
});

function resolveProd(h: Harness, reserved: number): ResolvedConfig {
  return withFunction({ ...h.config, stage: 'prod' }, { reservedConcurrency: reserved });
}
