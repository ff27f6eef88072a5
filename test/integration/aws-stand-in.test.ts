import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  AddPermissionCommand,
  CreateAliasCommand,
  CreateFunctionCommand,
  CreateFunctionUrlConfigCommand,
  DeleteFunctionCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  GetPolicyCommand,
  LambdaClient,
  ListTagsCommand,
  ListVersionsByFunctionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  PublishLayerVersionCommand,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { startAwsStandIn, type AwsStandIn, type InvokedFunction, type FunctionUrlRequest } from '../support/aws-stand-in/index.js';
import { makeZeroZip, makeZip } from '../support/aws-stand-in/zip-fixtures.js';
import { TRUST_POLICY } from '../../src/aws/resources/role.js';
import { failure } from '../support/aws-failure.js';

const TRUST = JSON.stringify(TRUST_POLICY);

describe('AWS stand-in: Lambda control plane', () => {
  let aws: AwsStandIn;
  let lambda: LambdaClient;
  let roleArn: string;
  let zip: Buffer;
  const hookCalls: Array<{ fn: InvokedFunction; request: FunctionUrlRequest }> = [];

  before(async () => {
    aws = await startAwsStandIn({
      invokeUrl: async (fn, request) => {
        hookCalls.push({ fn, request });
        return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ok: true, path: request.rawPath }), logs: ['handler says hi'] };
      },
    });
    lambda = new LambdaClient(aws.clientConfig);
    const iam = new IAMClient(aws.clientConfig);
    const role = await iam.send(new CreateRoleCommand({ RoleName: 'fn-role', AssumeRolePolicyDocument: TRUST }));
    roleArn = role.Role!.Arn!;
    iam.destroy();
    zip = await makeZip({ 'handler.py': 'def handler(event, context):\n    return {"statusCode": 200}\n' });
  });

  after(async () => {
    lambda.destroy();
    await aws.close();
  });

  const create = (name: string, extra: Record<string, unknown> = {}) =>
    lambda.send(
      new CreateFunctionCommand({ FunctionName: name, Runtime: 'python3.12', Handler: 'handler.handler', Role: roleArn, Code: { ZipFile: zip }, ...extra }),
    );
  const waitActive = (name: string) =>
    waitUntilFunctionActiveV2({ client: lambda, minDelay: 0.01, maxDelay: 0.02, maxWaitTime: 5 }, { FunctionName: name });
  const waitUpdated = (name: string) =>
    waitUntilFunctionUpdatedV2({ client: lambda, minDelay: 0.01, maxDelay: 0.02, maxWaitTime: 5 }, { FunctionName: name });

  test('a new function is Pending for N polls, rejects updates meanwhile, then the waiter sees Active', async () => {
    const created = await create('states');
    assert.equal(created.State, 'Pending');
    assert.equal(created.StateReasonCode, 'Creating');
    const conflict = await failure(lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'states', Timeout: 10 })));
    assert.equal(conflict.name, 'ResourceConflictException');
    assert.equal(conflict.$metadata?.httpStatusCode, 409);
    assert.equal((await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'states' }))).State, 'Pending');
    assert.equal((await lambda.send(new GetFunctionCommand({ FunctionName: 'states' }))).Configuration?.State, 'Pending');
    const waited = await waitActive('states');
    assert.equal(waited.state, 'SUCCESS');
    const active = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'states' }));
    assert.equal(active.State, 'Active');
    assert.equal(active.LastUpdateStatus, 'Successful');
  });

  test('an update is InProgress until polled, a second update gets 409, the update waiter sees Successful', async () => {
    await create('updates');
    await waitActive('updates');
    const newZip = await makeZip({ 'handler.py': 'def handler(e, c):\n    return 2\n' });
    const updated = await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'updates', ZipFile: newZip }));
    assert.equal(updated.LastUpdateStatus, 'InProgress');
    assert.equal(updated.CodeSha256, createHash('sha256').update(newZip).digest('base64'));
    const conflict = await failure(lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'updates', MemorySize: 512 })));
    assert.equal(conflict.name, 'ResourceConflictException');
    assert.match(conflict.message, /An update is in progress for resource: arn:aws:lambda:us-east-1:123456789012:function:updates/);
    const publishConflict = await failure(lambda.send(new PublishVersionCommand({ FunctionName: 'updates' })));
    assert.equal(publishConflict.name, 'ResourceConflictException');
    assert.equal((await waitUpdated('updates')).state, 'SUCCESS');
    const config = await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'updates', MemorySize: 512 }));
    assert.equal(config.MemorySize, 512);
    assert.equal(config.LastUpdateStatus, 'InProgress');
  });

  test('CodeSha256 and CodeSize describe the zip; duplicates and unknown names fail like AWS', async () => {
    const created = await create('hashes', { Tags: { project: 'pipe' }, Architectures: ['arm64'], EphemeralStorage: { Size: 1024 } });
    assert.equal(created.CodeSha256, createHash('sha256').update(zip).digest('base64'));
    assert.equal(created.CodeSize, zip.length);
    assert.deepEqual(created.Architectures, ['arm64']);
    assert.equal(created.EphemeralStorage?.Size, 1024);
    const got = await lambda.send(new GetFunctionCommand({ FunctionName: 'hashes' }));
    assert.deepEqual(got.Tags, { project: 'pipe' });
    assert.equal(aws.state.calls.filter((c) => c.error === 'InvalidSignatureException').length, 0);
    const downloaded = Buffer.from(await (await fetch(got.Code!.Location!)).arrayBuffer());
    assert.deepEqual(downloaded, zip);
    const arn = 'arn:aws:lambda:us-east-1:123456789012:function:hashes';
    await lambda.send(new TagResourceCommand({ Resource: arn, Tags: { stage: 'dev', extra: 'x' } }));
    await lambda.send(new UntagResourceCommand({ Resource: arn, TagKeys: ['extra'] }));
    assert.deepEqual((await lambda.send(new ListTagsCommand({ Resource: arn }))).Tags, { project: 'pipe', stage: 'dev' });
    const byArn = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: `${arn}:$LATEST` }));
    assert.equal(byArn.FunctionName, 'hashes');
    const duplicate = await failure(create('hashes'));
    assert.equal(duplicate.name, 'ResourceConflictException');
    const missing = await failure(lambda.send(new GetFunctionCommand({ FunctionName: 'nope' })));
    assert.equal(missing.name, 'ResourceNotFoundException');
    assert.equal(missing.$metadata?.httpStatusCode, 404);
  });

  test('invalid role, blocked runtime, reserved env keys and missing layers are rejected', async () => {
    const role = await failure(create('bad-role', { Role: 'arn:aws:iam::123456789012:role/missing' }));
    assert.equal(role.name, 'InvalidParameterValueException');
    assert.equal(role.message, 'The role defined for the function cannot be assumed by Lambda.');
    const runtime = await failure(create('old-runtime', { Runtime: 'python3.8' }));
    assert.equal(runtime.name, 'InvalidParameterValueException');
    assert.match(runtime.message, /python3\.8 is no longer supported/);
    const env = await failure(create('env', { Environment: { Variables: { AWS_REGION: 'x' } } }));
    assert.equal(env.name, 'InvalidParameterValueException');
    const layer = await failure(create('layer', { Layers: ['arn:aws:lambda:us-east-1:123456789012:layer:none:1'] }));
    assert.equal(layer.name, 'InvalidParameterValueException');
    assert.equal(aws.state.functions.has('bad-role') || aws.state.functions.has('layer'), false);
  });

  test('a direct zip over 50 MB gets 413 RequestEntityTooLargeException', async () => {
    const big = await makeZip({ 'blob.bin': Buffer.alloc(52_428_800 + 1024, 7) }, true);
    const error = await failure(create('too-big', { Code: { ZipFile: big } }));
    assert.equal(error.name, 'RequestEntityTooLargeException');
    assert.equal(error.$metadata?.httpStatusCode, 413);
  });

  test('function plus layers over 262,144,000 bytes unzipped is rejected; under it is accepted', async () => {
    const layerZip = await makeZeroZip('python/deps.bin', 200_000_000);
    const layer = await lambda.send(
      new PublishLayerVersionCommand({ LayerName: 'deps', Content: { ZipFile: layerZip }, CompatibleRuntimes: ['python3.12'] }),
    );
    assert.equal(layer.Version, 1);
    assert.equal(layer.Content?.CodeSha256, createHash('sha256').update(layerZip).digest('base64'));
    const fnZip = await makeZeroZip('model.bin', 70_000_000);
    const error = await failure(create('huge', { Code: { ZipFile: fnZip }, Layers: [layer.LayerVersionArn!] }));
    assert.equal(error.name, 'InvalidParameterValueException');
    assert.match(error.message, /262144000/);
    const alone = await failure(create('huge-alone', { Code: { ZipFile: await makeZeroZip('m.bin', 262_144_001) } }));
    assert.match(alone.message, /^Unzipped size must be smaller than 262144000 bytes$/);
    const ok = await create('fits', { Layers: [layer.LayerVersionArn!] });
    assert.deepEqual(ok.Layers?.map((l) => l.Arn), [layer.LayerVersionArn]);
  });

  test('PublishVersion increments, returns the last version when nothing changed, checks CodeSha256', async () => {
    await create('versions');
    await waitActive('versions');
    const v1 = await lambda.send(new PublishVersionCommand({ FunctionName: 'versions' }));
    assert.equal(v1.Version, '1');
    const again = await lambda.send(new PublishVersionCommand({ FunctionName: 'versions' }));
    assert.equal(again.Version, '1');
    const wrongSha = await failure(lambda.send(new PublishVersionCommand({ FunctionName: 'versions', CodeSha256: 'abc' })));
    assert.equal(wrongSha.name, 'InvalidParameterValueException');
    await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'versions', Timeout: 30 }));
    await waitUpdated('versions');
    const v2 = await lambda.send(new PublishVersionCommand({ FunctionName: 'versions', CodeSha256: v1.CodeSha256 }));
    assert.equal(v2.Version, '2');
    assert.equal(v2.Timeout, 30);
    const listed = await lambda.send(new ListVersionsByFunctionCommand({ FunctionName: 'versions' }));
    assert.deepEqual(listed.Versions?.map((v) => v.Version), ['$LATEST', '1', '2']);
    await lambda.send(new CreateAliasCommand({ FunctionName: 'versions', Name: 'live', FunctionVersion: '1' }));
    const referenced = await failure(lambda.send(new DeleteFunctionCommand({ FunctionName: 'versions', Qualifier: '1' })));
    assert.equal(referenced.name, 'ResourceConflictException');
    await lambda.send(new UpdateAliasCommand({ FunctionName: 'versions', Name: 'live', FunctionVersion: '2' }));
    await lambda.send(new DeleteFunctionCommand({ FunctionName: 'versions', Qualifier: '1' }));
    assert.deepEqual([...aws.state.functions.get('versions')!.versions.keys()], ['2']);
  });

  test('a public Function URL answers 403 until both permissions exist, then runs the hook at the alias version', async () => {
    await create('web', { Environment: { Variables: { STAGE: 'dev' } }, MemorySize: 256 });
    await waitActive('web');
    await lambda.send(new PublishVersionCommand({ FunctionName: 'web' }));
    await lambda.send(new CreateAliasCommand({ FunctionName: 'web', Name: 'live', FunctionVersion: '1' }));
    const url = await lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'web', Qualifier: 'live', AuthType: 'NONE' }));
    assert.match(url.FunctionUrl!, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const duplicate = await failure(lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: 'web', Qualifier: 'live', AuthType: 'NONE' })));
    assert.equal(duplicate.name, 'ResourceConflictException');

    assert.equal((await fetch(`${url.FunctionUrl}health`)).status, 403);
    await lambda.send(
      new AddPermissionCommand({
        FunctionName: 'web', Qualifier: 'live', StatementId: 'url', Action: 'lambda:InvokeFunctionUrl', Principal: '*', FunctionUrlAuthType: 'NONE',
      }),
    );
    const onlyUrl = await fetch(`${url.FunctionUrl}health`);
    assert.equal(onlyUrl.status, 403);
    assert.deepEqual(await onlyUrl.json(), { Message: 'Forbidden' });
    const sameSid = await failure(
      lambda.send(new AddPermissionCommand({ FunctionName: 'web', Qualifier: 'live', StatementId: 'url', Action: 'lambda:InvokeFunction', Principal: '*' })),
    );
    assert.equal(sameSid.name, 'ResourceConflictException');
    await lambda.send(
      new AddPermissionCommand({ FunctionName: 'web', Qualifier: 'live', StatementId: 'invoke', Action: 'lambda:InvokeFunction', Principal: '*', InvokedViaFunctionUrl: true }),
    );
    const policy = JSON.parse((await lambda.send(new GetPolicyCommand({ FunctionName: 'web', Qualifier: 'live' }))).Policy!);
    assert.deepEqual(policy.Statement[0], {
      Sid: 'url',
      Effect: 'Allow',
      Principal: '*',
      Action: 'lambda:InvokeFunctionUrl',
      Resource: 'arn:aws:lambda:us-east-1:123456789012:function:web:live',
      Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'NONE' } },
    });

    // $LATEST changes after publishing; the URL must keep running version 1's code.
    await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'web', ZipFile: await makeZip({ 'other.py': 'x = 1\n' }) }));
    const response = await fetch(`${url.FunctionUrl}predict?x=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { ok: true, path: '/predict' });
    const call = hookCalls.at(-1)!;
    assert.deepEqual(call.fn.zip, zip);
    assert.equal(call.fn.version, '1');
    assert.deepEqual(call.fn.env, { STAGE: 'dev' });
    assert.equal(call.fn.memory, 256);
    assert.equal(call.request.event['rawPath'], '/predict');
    assert.equal(call.request.event['body'], '{"a":1}');
    assert.equal((call.request.event['requestContext'] as { http: { method: string } }).http.method, 'POST');

    aws.setInvokeUrl(undefined);
    assert.equal((await fetch(`${url.FunctionUrl}health`)).status, 502);
    aws.setInvokeUrl(async () => ({ statusCode: 200 }));

    const logs = new CloudWatchLogsClient(aws.clientConfig);
    const events = await logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/web' }));
    logs.destroy();
    const messages = events.events!.map((e) => e.message!);
    assert.match(messages[0]!, /^START RequestId: [0-9a-f-]+ Version: 1$/);
    assert.equal(messages[1], 'handler says hi');
    assert.match(messages[2]!, /^END RequestId/);
    assert.match(messages[3]!, /^REPORT RequestId: .*Memory Size: 256 MB/);
    assert.match(messages.at(-1)!, /^REPORT RequestId/);
  });

  test('an AWS_IAM Function URL refuses unsigned requests', async () => {
    await create('private');
    const url = await lambda.send(
      new CreateFunctionUrlConfigCommand({
        FunctionName: 'private', AuthType: 'AWS_IAM', Cors: { AllowOrigins: ['https://app.example'], AllowMethods: ['POST'] },
      }),
    );
    assert.equal((await fetch(url.FunctionUrl!)).status, 403);
    const preflight = await fetch(url.FunctionUrl!, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.status, 200);
    assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.equal(preflight.headers.get('access-control-allow-methods'), 'POST');
    await lambda.send(new DeleteFunctionCommand({ FunctionName: 'private' }));
    await assert.rejects(fetch(url.FunctionUrl!));
  });
});
