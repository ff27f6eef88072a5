import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AddPermissionCommand, CreateAliasCommand, CreateFunctionCommand, DeleteAliasCommand, DeleteFunctionConcurrencyCommand, DeleteProvisionedConcurrencyConfigCommand,
  GetAccountSettingsCommand, GetFunctionCommand, GetFunctionConcurrencyCommand, GetProvisionedConcurrencyConfigCommand, LambdaClient, PublishVersionCommand,
  PutFunctionConcurrencyCommand, PutProvisionedConcurrencyConfigCommand, waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import {
  DeleteRuleCommand, DescribeRuleCommand, EventBridgeClient, ListTagsForResourceCommand, ListTargetsByRuleCommand, PutRuleCommand, PutTargetsCommand, RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { CloudWatchLogsClient, CreateLogGroupCommand, DescribeLogGroupsCommand, PutRetentionPolicyCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { startAwsStandIn, type AwsStandIn } from '../support/aws-stand-in/index.js';
import { makeZip } from '../support/aws-stand-in/zip-fixtures.js';
import { TRUST_POLICY } from '../../src/aws/resources/role.js';
import { failure } from '../support/aws-failure.js';

describe('AWS stand-in: concurrency, EventBridge rules, log retention', () => {
  let aws: AwsStandIn;
  let lambda: LambdaClient;
  let events: EventBridgeClient;
  let logs: CloudWatchLogsClient;

  async function createFunction(name: string): Promise<void> {
    await lambda.send(new CreateFunctionCommand({
      FunctionName: name, Runtime: 'python3.11', Role: roleArn, Handler: 'app.handler', Code: { ZipFile: zip },
    }));
    await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 10, minDelay: 0.01, maxDelay: 0.01 } as never, { FunctionName: name });
    const { Version } = await lambda.send(new PublishVersionCommand({ FunctionName: name }));
    await lambda.send(new CreateAliasCommand({ FunctionName: name, Name: 'live', FunctionVersion: Version! }));
  }
  let roleArn = '';
  let zip: Buffer;

  before(async () => {
    // A new account's limit: 10 concurrent executions, nothing can be reserved (100 must stay unreserved).
    aws = await startAwsStandIn({ accountConcurrency: 10, pollsUntilActive: 1 });
    lambda = new LambdaClient(aws.clientConfig);
    events = new EventBridgeClient(aws.clientConfig);
    logs = new CloudWatchLogsClient(aws.clientConfig);
    const role = await new IAMClient(aws.clientConfig).send(new CreateRoleCommand({ RoleName: 'r', AssumeRolePolicyDocument: JSON.stringify(TRUST_POLICY) }));
    roleArn = role.Role!.Arn!;
    zip = await makeZip({ 'app.py': 'def handler(e, c):\n    return e\n' });
    await createFunction('fn');
    await createFunction('other');
  });
  after(async () => aws?.close());

  test('reserved concurrency keeps 100 unreserved: refused on a 10-concurrency account with AWS\'s error', async () => {
    const error = await failure(lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'fn', ReservedConcurrentExecutions: 1 })));
    assert.equal(error.name, 'InvalidParameterValueException');
    assert.equal(error.$metadata?.httpStatusCode, 400);
    assert.match(error.message, /decreases account's UnreservedConcurrentExecution below its minimum value of \[100\]/);
    const settings = await lambda.send(new GetAccountSettingsCommand({}));
    assert.equal(settings.AccountLimit?.ConcurrentExecutions, 10);
    assert.equal(settings.AccountLimit?.UnreservedConcurrentExecutions, 10);
  });

  test('with a 1000 limit, a reservation is set, read back, counted against the account and deleted', async () => {
    aws.state.accountConcurrency = 1000;
    const put = await lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'fn', ReservedConcurrentExecutions: 300 }));
    assert.equal(put.ReservedConcurrentExecutions, 300);
    assert.equal((await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'fn' }))).ReservedConcurrentExecutions, 300);
    assert.deepEqual((await lambda.send(new GetFunctionCommand({ FunctionName: 'fn' }))).Concurrency, { ReservedConcurrentExecutions: 300 });
    assert.equal((await lambda.send(new GetAccountSettingsCommand({}))).AccountLimit?.UnreservedConcurrentExecutions, 700);
    const tooMuch = await failure(lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'other', ReservedConcurrentExecutions: 601 })));
    assert.match(tooMuch.message, /minimum value of \[100\]/);
    await lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'other', ReservedConcurrentExecutions: 600 }));
    await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: 'other' }));
    assert.equal((await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'other' }))).ReservedConcurrentExecutions, undefined);
    const negative = await failure(lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'fn', ReservedConcurrentExecutions: -1 })));
    assert.equal(negative.name, 'ValidationException');
    const missing = await failure(lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'nope', ReservedConcurrentExecutions: 1 })));
    assert.equal(missing.name, 'ResourceNotFoundException');
  });

  test('provisioned concurrency: on an alias or version only, within the reservation, IN_PROGRESS then READY', async () => {
    const latest = await failure(lambda.send(new PutProvisionedConcurrencyConfigCommand({ FunctionName: 'fn', Qualifier: '$LATEST', ProvisionedConcurrentExecutions: 1 })));
    assert.equal(latest.name, 'InvalidParameterValueException');
    const noAlias = await failure(lambda.send(new PutProvisionedConcurrencyConfigCommand({ FunctionName: 'fn', Qualifier: 'nope', ProvisionedConcurrentExecutions: 1 })));
    assert.equal(noAlias.name, 'ResourceNotFoundException');
    const over = await failure(lambda.send(new PutProvisionedConcurrencyConfigCommand({ FunctionName: 'fn', Qualifier: 'live', ProvisionedConcurrentExecutions: 301 })));
    assert.match(over.message, /should not be greater than the reservedConcurrentExecution/);
    const put = await lambda.send(new PutProvisionedConcurrencyConfigCommand({ FunctionName: 'fn', Qualifier: 'live', ProvisionedConcurrentExecutions: 5 }));
    assert.equal(put.$metadata.httpStatusCode, 202);
    assert.equal(put.Status, 'IN_PROGRESS');
    const got = await lambda.send(new GetProvisionedConcurrencyConfigCommand({ FunctionName: 'fn', Qualifier: 'live' }));
    assert.equal(got.RequestedProvisionedConcurrentExecutions, 5);
    assert.equal((await lambda.send(new GetProvisionedConcurrencyConfigCommand({ FunctionName: 'fn', Qualifier: 'live' }))).Status, 'READY');
    const below = await failure(lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'fn', ReservedConcurrentExecutions: 4 })));
    assert.equal(below.name, 'InvalidParameterValueException', 'a reservation may not drop below the provisioned instances');
    await lambda.send(new DeleteProvisionedConcurrencyConfigCommand({ FunctionName: 'fn', Qualifier: 'live' }));
    const gone = await failure(lambda.send(new GetProvisionedConcurrencyConfigCommand({ FunctionName: 'fn', Qualifier: 'live' })));
    assert.equal(gone.name, 'ProvisionedConcurrencyConfigNotFoundException');
    assert.equal(gone.$metadata?.httpStatusCode, 404);
    // Without a reservation the instances come from the unreserved pool, minus its minimum of 100.
    const pool = await failure(lambda.send(new PutProvisionedConcurrencyConfigCommand({ FunctionName: 'other', Qualifier: 'live', ProvisionedConcurrentExecutions: 601 })));
    assert.match(pool.message, /greater than account's unreserved concurrency \[600\]/);
    await lambda.send(new PutProvisionedConcurrencyConfigCommand({ FunctionName: 'other', Qualifier: 'live', ProvisionedConcurrentExecutions: 2 }));
    await lambda.send(new DeleteAliasCommand({ FunctionName: 'other', Name: 'live' }));
    assert.equal(aws.state.functions.get('other')!.provisioned.size, 0, 'deleting the alias deletes its provisioned config');
  });

  test('EventBridge rules: the rate grammar, tags at creation, targets, and no delete while targets remain', async () => {
    for (const bad of ['rate(1 minutes)', 'rate(5 minute)', 'rate(0 minutes)', 'rate(5 mins)', 'every 5 minutes']) {
      const error = await failure(events.send(new PutRuleCommand({ Name: 'warm', ScheduleExpression: bad })));
      assert.equal(error.name, 'ValidationException', bad);
      assert.equal(error.$metadata?.httpStatusCode, 400);
    }
    const missing = await failure(events.send(new DescribeRuleCommand({ Name: 'warm' })));
    assert.equal(missing.name, 'ResourceNotFoundException');
    const { RuleArn } = await events.send(new PutRuleCommand({ Name: 'warm', ScheduleExpression: 'rate(5 minutes)', Tags: [{ Key: 'pipe:managed', Value: 'true' }] }));
    assert.equal(RuleArn, 'arn:aws:events:us-east-1:123456789012:rule/warm');
    const described = await events.send(new DescribeRuleCommand({ Name: 'warm' }));
    assert.equal(described.ScheduleExpression, 'rate(5 minutes)');
    assert.equal(described.State, 'ENABLED');
    // PutRule replaces the rule: a description left out is cleared; tags stay those of the creation.
    await events.send(new PutRuleCommand({ Name: 'warm', ScheduleExpression: 'rate(1 hour)', Description: 'd', Tags: [{ Key: 'x', Value: 'y' }] }));
    await events.send(new PutRuleCommand({ Name: 'warm', ScheduleExpression: 'rate(1 hour)' }));
    assert.equal((await events.send(new DescribeRuleCommand({ Name: 'warm' }))).Description, undefined);
    assert.deepEqual((await events.send(new ListTagsForResourceCommand({ ResourceARN: RuleArn }))).Tags, [{ Key: 'pipe:managed', Value: 'true' }]);

    const alias = 'arn:aws:lambda:us-east-1:123456789012:function:fn:live';
    const badInput = await failure(events.send(new PutTargetsCommand({ Rule: 'warm', Targets: [{ Id: 't', Arn: alias, Input: '{not json' }] })));
    assert.equal(badInput.name, 'ValidationException');
    await events.send(new PutTargetsCommand({ Rule: 'warm', Targets: [{ Id: 't', Arn: alias, Input: '{"pipe":"warm-up"}' }] }));
    assert.deepEqual((await events.send(new ListTargetsByRuleCommand({ Rule: 'warm' }))).Targets, [{ Id: 't', Arn: alias, Input: '{"pipe":"warm-up"}' }]);
    assert.throws(() => aws.fireRule('warm'), /not allowed to invoke/, 'Lambda refuses EventBridge without a permission');
    await lambda.send(new AddPermissionCommand({
      FunctionName: 'fn', Qualifier: 'live', StatementId: 'warm', Action: 'lambda:InvokeFunction', Principal: 'events.amazonaws.com', SourceArn: RuleArn,
    }));
    assert.deepEqual(aws.fireRule('warm'), [{ functionName: 'fn', qualifier: 'live', version: '1', event: { pipe: 'warm-up' } }]);

    const withTargets = await failure(events.send(new DeleteRuleCommand({ Name: 'warm' })));
    assert.match(withTargets.message, /can't be deleted since it has targets/);
    await events.send(new RemoveTargetsCommand({ Rule: 'warm', Ids: ['t'] }));
    await events.send(new DeleteRuleCommand({ Name: 'warm' }));
    await events.send(new DeleteRuleCommand({ Name: 'warm' }));
    assert.equal(aws.state.eventRules.size, 0);
    const noRule = await failure(events.send(new ListTargetsByRuleCommand({ Rule: 'warm' })));
    assert.equal(noRule.name, 'ResourceNotFoundException');
  });

  test('log groups: created once, with tags; retention only from CloudWatch\'s list', async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/aws/lambda/fn', tags: { 'pipe:managed': 'true' } }));
    const again = await failure(logs.send(new CreateLogGroupCommand({ logGroupName: '/aws/lambda/fn' })));
    assert.equal(again.name, 'ResourceAlreadyExistsException');
    const bad = await failure(logs.send(new PutRetentionPolicyCommand({ logGroupName: '/aws/lambda/fn', retentionInDays: 700 })));
    assert.equal(bad.name, 'InvalidParameterException');
    await logs.send(new PutRetentionPolicyCommand({ logGroupName: '/aws/lambda/fn', retentionInDays: 731 }));
    const { logGroups } = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/lambda/fn' }));
    assert.equal(logGroups?.[0]?.retentionInDays, 731);
    assert.deepEqual(aws.state.logGroups.get('/aws/lambda/fn')?.tags, { 'pipe:managed': 'true' });
  });
});
