import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateAliasCommand, CreateFunctionCommand, CreateFunctionUrlConfigCommand, DeleteFunctionCommand, GetAliasCommand, LambdaClient, PublishVersionCommand,
  UpdateAliasCommand, UpdateFunctionCodeCommand, waitUntilFunctionActiveV2, waitUntilFunctionUpdatedV2, AddPermissionCommand,
} from '@aws-sdk/client-lambda';
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand, PutMetricAlarmCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { startAwsStandIn, type AwsStandIn } from '../support/aws-stand-in/index.js';
import { makeZip } from '../support/aws-stand-in/zip-fixtures.js';
import { TRUST_POLICY } from '../../src/aws/resources/role.js';
import { failure } from '../support/aws-failure.js';

/** Alias routing configurations, their split of a Function URL's requests, and the CloudWatch metrics and alarms that report them. */
describe('AWS stand-in: weighted aliases, Lambda metrics by executed version, alarms', () => {
  let aws: AwsStandIn;
  let lambda: LambdaClient;
  let cloudwatch: CloudWatchClient;
  let url = '';
  const wait = { maxWaitTime: 10, minDelay: 0.01, maxDelay: 0.01 } as never;

  before(async () => {
    // The "code" of a version is its number: the hook answers with it, and fails for version 2 on /boom.
    aws = await startAwsStandIn({
      pollsUntilActive: 1,
      invokeUrl: async (fn, request) => {
        const emf = JSON.stringify({ _aws: { Timestamp: Date.now(), CloudWatchMetrics: [{ Namespace: 'pipe', Dimensions: [['FunctionName', 'Resource', 'ExecutedVersion']], Metrics: [{ Name: 'ServerErrors' }] }] },
          FunctionName: fn.functionName, Resource: `${fn.functionName}:live`, ExecutedVersion: fn.version, ServerErrors: 1 });
        if (request.rawPath === '/boom' && fn.version === '2') return { statusCode: 502, body: 'Internal Server Error', functionError: true };
        if (request.rawPath === '/500') return { statusCode: 500, body: '{}', logs: [emf] };
        return { statusCode: 200, body: fn.version };
      },
    });
    lambda = new LambdaClient(aws.clientConfig);
    cloudwatch = new CloudWatchClient(aws.clientConfig);
    const role = await new IAMClient(aws.clientConfig).send(new CreateRoleCommand({ RoleName: 'r', AssumeRolePolicyDocument: JSON.stringify(TRUST_POLICY) }));
    await lambda.send(new CreateFunctionCommand({ FunctionName: 'fn', Runtime: 'python3.11', Role: role.Role!.Arn!, Handler: 'app.handler', Code: { ZipFile: await makeZip({ 'app.py': 'v1' }) } }));
    await waitUntilFunctionActiveV2({ client: lambda, ...(wait as object) } as never, { FunctionName: 'fn' });
    await lambda.send(new PublishVersionCommand({ FunctionName: 'fn' }));
    await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'fn', ZipFile: await makeZip({ 'app.py': 'v2' }) }));
    await waitUntilFunctionUpdatedV2({ client: lambda, ...(wait as object) } as never, { FunctionName: 'fn' });
    await lambda.send(new PublishVersionCommand({ FunctionName: 'fn' }));
    await lambda.send(new CreateAliasCommand({ FunctionName: 'fn', Name: 'live', FunctionVersion: '1' }));
    url = (await lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'fn', Qualifier: 'live', AuthType: 'NONE' }))).FunctionUrl!;
    await lambda.send(new AddPermissionCommand({ FunctionName: 'fn', Qualifier: 'live', StatementId: 'url', Action: 'lambda:InvokeFunctionUrl', Principal: '*', FunctionUrlAuthType: 'NONE' }));
    await lambda.send(new AddPermissionCommand({ FunctionName: 'fn', Qualifier: 'live', StatementId: 'invoke', Action: 'lambda:InvokeFunction', Principal: '*', InvokedViaFunctionUrl: true }));
  });
  after(async () => aws?.close());

  test('a routing configuration is checked as Lambda checks it', async () => {
    const bad = async (RoutingConfig: object, FunctionVersion = '1') => failure(lambda.send(new UpdateAliasCommand({ FunctionName: 'fn', Name: 'live', FunctionVersion, RoutingConfig })));
    assert.equal((await bad({ AdditionalVersionWeights: { '2': 1.5 } })).name, 'ValidationException');
    assert.equal((await bad({ AdditionalVersionWeights: { '1': 0.1 } })).name, 'InvalidParameterValueException', 'the alias\'s own version');
    assert.equal((await bad({ AdditionalVersionWeights: { '2': 0.1 } }, '$LATEST')).name, 'InvalidParameterValueException', '$LATEST with a weight');
    assert.equal((await bad({ AdditionalVersionWeights: { '9': 0.1 } })).name, 'ResourceNotFoundException');
    const alias = await lambda.send(new GetAliasCommand({ FunctionName: 'fn', Name: 'live' }));
    assert.equal(alias.RoutingConfig, undefined, 'nothing was changed by the refusals');
  });

  test('a weighted alias splits its requests between the versions, and a version it routes to cannot be deleted', async () => {
    await lambda.send(new UpdateAliasCommand({ FunctionName: 'fn', Name: 'live', FunctionVersion: '1', RoutingConfig: { AdditionalVersionWeights: { '2': 0.3 } } }));
    const served = await Promise.all(Array.from({ length: 200 }, async () => (await fetch(url)).text()));
    const toTwo = served.filter((v) => v === '2').length;
    assert.ok(toTwo > 30 && toTwo < 90, `about 30% to version 2, got ${toTwo} of 200`);
    assert.equal(served.filter((v) => v === '1').length, 200 - toTwo);
    const refused = await failure(lambda.send(new DeleteFunctionCommand({ FunctionName: 'fn', Qualifier: '2' })));
    assert.equal(refused.name, 'ResourceConflictException');
  });

  test('GetMetricData sums Lambda\'s metrics by alias and executed version, and the handler\'s embedded metrics', async () => {
    const since = new Date(Date.now() - 120_000);
    for (let i = 0; i < 40; i += 1) await fetch(new URL('boom', url));
    for (let i = 0; i < 10; i += 1) await fetch(new URL('500', url));
    const dims = (version: string) => [{ Name: 'FunctionName', Value: 'fn' }, { Name: 'Resource', Value: 'fn:live' }, { Name: 'ExecutedVersion', Value: version }];
    const metric = (Id: string, MetricName: string, version: string, Namespace = 'AWS/Lambda') =>
      ({ Id, MetricStat: { Metric: { Namespace, MetricName, Dimensions: dims(version) }, Period: 60, Stat: 'Sum' } });
    const out = await cloudwatch.send(new GetMetricDataCommand({
      StartTime: since, EndTime: new Date(Date.now() + 60_000),
      MetricDataQueries: [metric('inv2', 'Invocations', '2'), metric('err2', 'Errors', '2'), metric('err1', 'Errors', '1'), metric('inv1', 'Invocations', '1'), metric('srv', 'ServerErrors', '1', 'pipe')],
    }));
    const sum = (id: string) => out.MetricDataResults!.find((r) => r.Id === id)!.Values!.reduce((a, b) => a + b, 0);
    assert.equal(sum('inv1') + sum('inv2'), 250, 'every request through live is counted under its executed version');
    assert.ok(sum('err2') > 0, 'version 2 failed on /boom');
    assert.equal(sum('err1'), 0, 'version 1 never raised');
    assert.ok(sum('srv') > 0 && sum('srv') <= 10, 'the 500s version 1 answered, from the embedded metric lines');
    const badPeriod = await failure(cloudwatch.send(new GetMetricDataCommand({ StartTime: since, EndTime: new Date(), MetricDataQueries: [{ ...metric('x', 'Errors', '1'), MetricStat: { ...metric('x', 'Errors', '1').MetricStat, Period: 30 } }] })));
    assert.equal(badPeriod.name, 'InvalidParameterValueException');
  });

  test('alarms: created INSUFFICIENT_DATA, set to ALARM, described by name; a missing one cannot be set', async () => {
    await cloudwatch.send(new PutMetricAlarmCommand({ AlarmName: 'fn-errors', Namespace: 'AWS/Lambda', MetricName: 'Errors', Statistic: 'Sum', Period: 60, EvaluationPeriods: 1, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' }));
    assert.equal((await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ['fn-errors'] }))).MetricAlarms?.[0]?.StateValue, 'INSUFFICIENT_DATA');
    await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: 'fn-errors', StateValue: 'ALARM', StateReason: 'errors' }));
    assert.equal((await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ['fn-errors', 'other'] }))).MetricAlarms?.map((a) => a.StateValue).join(), 'ALARM');
    const missing = await failure(cloudwatch.send(new SetAlarmStateCommand({ AlarmName: 'nope', StateValue: 'ALARM', StateReason: 'x' })));
    assert.equal(missing.name, 'ResourceNotFound');
    aws.faults.accessDenied('cloudwatch:GetMetricData');
    const denied = await failure(cloudwatch.send(new GetMetricDataCommand({ StartTime: new Date(0), EndTime: new Date(), MetricDataQueries: [] })));
    assert.equal(denied.name, 'AccessDenied');
    aws.faults.clear();
  });
});
