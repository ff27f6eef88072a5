import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AttachRolePolicyCommand,
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRoleTagsCommand,
  PutRolePolicyCommand,
  TagRoleCommand,
} from '@aws-sdk/client-iam';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  DeleteLogGroupCommand,
  DescribeLogGroupsCommand,
  FilterLogEventsCommand,
  PutRetentionPolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { CreateFunctionCommand, GetAccountSettingsCommand, GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startAwsStandIn, type AwsStandIn } from '../support/aws-stand-in/index.js';
import { makeZip } from '../support/aws-stand-in/zip-fixtures.js';
import { TRUST_POLICY } from '../../src/aws/resources/role.js';
import { failure } from '../support/aws-failure.js';

const TRUST = JSON.stringify(TRUST_POLICY);
const LOGS_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' }],
});
const BASIC_EXECUTION = 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}

describe('AWS stand-in: IAM, CloudWatch Logs, STS, auth and faults', () => {
  let aws: AwsStandIn;
  let iam: IAMClient;
  let logs: CloudWatchLogsClient;
  let s3rver: S3rverInstance;
  let s3Dir: string;
  let s3Endpoint: string;

  before(async () => {
    s3Dir = await mkdtemp(path.join(tmpdir(), 'stand-in-s3-'));
    const S3rver = createRequire(import.meta.url)('s3rver') as new (options: object) => S3rverInstance;
    s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3Dir });
    s3Endpoint = `http://127.0.0.1:${(await s3rver.run()).port}`;
    aws = await startAwsStandIn({ s3Endpoint, pollsUntilActive: 1 });
    iam = new IAMClient(aws.clientConfig);
    logs = new CloudWatchLogsClient(aws.clientConfig);
  });

  after(async () => {
    iam.destroy();
    logs.destroy();
    await aws.close();
    await s3rver.close();
    await rm(s3Dir, { recursive: true, force: true });
  });

  test('IAM roles: create, URL-encoded trust policy, duplicates, missing roles, delete conflicts', async () => {
    const created = await iam.send(
      new CreateRoleCommand({ RoleName: 'app', AssumeRolePolicyDocument: TRUST, Tags: [{ Key: 'project', Value: 'pipe' }] }),
    );
    assert.equal(created.Role?.Arn, 'arn:aws:iam::123456789012:role/app');
    assert.match(created.Role!.RoleId!, /^AROA/);
    assert.ok(created.Role?.CreateDate instanceof Date);
    const fetched = await iam.send(new GetRoleCommand({ RoleName: 'app' }));
    assert.equal(fetched.Role?.AssumeRolePolicyDocument, encodeURIComponent(TRUST));
    assert.deepEqual(fetched.Role?.Tags, [{ Key: 'project', Value: 'pipe' }]);

    const duplicate = await failure(iam.send(new CreateRoleCommand({ RoleName: 'app', AssumeRolePolicyDocument: TRUST })));
    assert.equal(duplicate.name, 'EntityAlreadyExistsException');
    assert.equal(duplicate.$metadata?.httpStatusCode, 409);
    const missing = await failure(iam.send(new GetRoleCommand({ RoleName: 'ghost' })));
    assert.equal(missing.name, 'NoSuchEntityException');
    assert.equal(missing.message, 'The role with name ghost cannot be found.');
    const malformed = await failure(iam.send(new CreateRoleCommand({ RoleName: 'bad', AssumeRolePolicyDocument: '{nope' })));
    assert.equal(malformed.name, 'MalformedPolicyDocumentException');

    await iam.send(new PutRolePolicyCommand({ RoleName: 'app', PolicyName: 'logs', PolicyDocument: LOGS_POLICY }));
    const inline = await iam.send(new GetRolePolicyCommand({ RoleName: 'app', PolicyName: 'logs' }));
    assert.equal(decodeURIComponent(inline.PolicyDocument!), LOGS_POLICY);
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'app', PolicyArn: BASIC_EXECUTION }));
    const wrongArn = await failure(
      iam.send(new AttachRolePolicyCommand({ RoleName: 'app', PolicyArn: 'arn:aws:iam::aws:policy/AWSLambdaBasicExecutionRole' })),
    );
    assert.equal(wrongArn.name, 'NoSuchEntityException');
    const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'app' }));
    assert.deepEqual(attached.AttachedPolicies, [{ PolicyName: 'AWSLambdaBasicExecutionRole', PolicyArn: BASIC_EXECUTION }]);

    const inlineConflict = await failure(iam.send(new DeleteRoleCommand({ RoleName: 'app' })));
    assert.equal(inlineConflict.name, 'DeleteConflictException');
    await iam.send(new DeleteRolePolicyCommand({ RoleName: 'app', PolicyName: 'logs' }));
    const attachedConflict = await failure(iam.send(new DeleteRoleCommand({ RoleName: 'app' })));
    assert.match(attachedConflict.message, /detach all policies/);
    await iam.send(new DetachRolePolicyCommand({ RoleName: 'app', PolicyArn: BASIC_EXECUTION }));
    await iam.send(new TagRoleCommand({ RoleName: 'app', Tags: [{ Key: 'stage', Value: 'dev' }] }));
    assert.equal((await iam.send(new ListRoleTagsCommand({ RoleName: 'app' }))).Tags?.length, 2);
    await iam.send(new DeleteRoleCommand({ RoleName: 'app' }));
    assert.equal(aws.state.roles.has('app'), false);
  });

  test('CloudWatch Logs: groups, retention, duplicates, filtering with pagination', async () => {
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/aws/lambda/logged' }));
    const duplicate = await failure(logs.send(new CreateLogGroupCommand({ logGroupName: '/aws/lambda/logged' })));
    assert.equal(duplicate.name, 'ResourceAlreadyExistsException');
    const retention = await failure(logs.send(new PutRetentionPolicyCommand({ logGroupName: '/aws/lambda/logged', retentionInDays: 10 })));
    assert.equal(retention.name, 'InvalidParameterException');
    await logs.send(new PutRetentionPolicyCommand({ logGroupName: '/aws/lambda/logged', retentionInDays: 14 }));
    const groups = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/aws/lambda/' }));
    assert.deepEqual(groups.logGroups?.map((g) => [g.logGroupName, g.retentionInDays]), [['/aws/lambda/logged', 14]]);

    aws.state.appendFunctionLogs('logged', ['old line'], { timestamp: 1_000, streamName: 's1' });
    aws.state.appendFunctionLogs('logged', ['new line 1', 'new line 2', 'new line 3'], { timestamp: 5_000, streamName: 's2' });
    const since = await logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/logged', startTime: 2_000, limit: 2 }));
    assert.deepEqual(since.events?.map((e) => e.message), ['new line 1', 'new line 2']);
    assert.ok(since.nextToken);
    const rest = await logs.send(
      new FilterLogEventsCommand({ logGroupName: '/aws/lambda/logged', startTime: 2_000, limit: 2, nextToken: since.nextToken }),
    );
    assert.deepEqual(rest.events?.map((e) => e.message), ['new line 3']);
    assert.equal(rest.nextToken, undefined);
    const oneStream = await logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/logged', logStreamNames: ['s1'] }));
    assert.deepEqual(oneStream.events?.map((e) => e.message), ['old line']);

    await logs.send(new DeleteLogGroupCommand({ logGroupName: '/aws/lambda/logged' }));
    const gone = await failure(logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/logged' })));
    assert.equal(gone.name, 'ResourceNotFoundException');
  });

  test('STS GetCallerIdentity names the account', async () => {
    const sts = new STSClient(aws.clientConfig);
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    sts.destroy();
    assert.equal(identity.Account, '123456789012');
    assert.match(identity.Arn!, /^arn:aws:iam::123456789012:user\//);
    assert.ok(identity.UserId);
  });

  test('unsigned requests get 403 and unknown keys are refused', async () => {
    const unsigned = await fetch(`${aws.endpoint}/2015-03-31/functions/x`);
    assert.equal(unsigned.status, 403);
    assert.equal(unsigned.headers.get('x-amzn-errortype'), 'MissingAuthenticationTokenException');
    const unsignedIam = await fetch(aws.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetRole&Version=2010-05-08&RoleName=x',
    });
    assert.equal(unsignedIam.status, 403);
    assert.match(await unsignedIam.text(), /<Code>MissingAuthenticationToken<\/Code>/);
    const stranger = new LambdaClient({ ...aws.clientConfig, credentials: { accessKeyId: 'AKIAOTHER', secretAccessKey: 'x' } });
    const refused = await failure(stranger.send(new GetAccountSettingsCommand({})));
    stranger.destroy();
    assert.equal(refused.name, 'UnrecognizedClientException');
    const wrongSecret = new IAMClient({ ...aws.clientConfig, credentials: { ...aws.clientConfig.credentials, secretAccessKey: 'wrong' } });
    const mismatch = await failure(wrongSecret.send(new GetRoleCommand({ RoleName: 'x' })));
    wrongSecret.destroy();
    assert.equal(mismatch.name, 'SignatureDoesNotMatch');
  });

  test('throttling and 5xx are retried by the SDK; past its attempts the error surfaces', async () => {
    await iam.send(new CreateRoleCommand({ RoleName: 'retry', AssumeRolePolicyDocument: TRUST }));
    aws.faults.throttle('iam:GetRole', 1);
    aws.faults.serverError('GetRole', 1);
    const before = aws.state.calls.length;
    const role = await iam.send(new GetRoleCommand({ RoleName: 'retry' }));
    assert.equal(role.Role?.RoleName, 'retry');
    assert.deepEqual(
      aws.state.calls.slice(before).map((c) => [c.action, c.status, c.error]),
      [['GetRole', 400, 'Throttling'], ['GetRole', 500, 'ServiceFailure'], ['GetRole', 200, undefined]],
    );

    const lambda = new LambdaClient({ ...aws.clientConfig, maxAttempts: 1 });
    aws.faults.throttle('GetAccountSettings', 1);
    const throttled = await failure(lambda.send(new GetAccountSettingsCommand({})));
    assert.equal(throttled.name, 'TooManyRequestsException');
    assert.equal(throttled.$metadata?.httpStatusCode, 429);
    aws.faults.serverError('GetAccountSettings', 1);
    const broken = await failure(lambda.send(new GetAccountSettingsCommand({})));
    assert.equal(broken.name, 'ServiceException');
    const settings = await lambda.send(new GetAccountSettingsCommand({}));
    assert.equal(settings.AccountLimit?.CodeSizeUnzipped, 262_144_000);

    aws.faults.accessDenied('lambda:GetFunction');
    const denied = await failure(lambda.send(new GetFunctionCommand({ FunctionName: 'secret' })));
    assert.equal(denied.name, 'AccessDeniedException');
    assert.match(
      denied.message,
      /not authorized to perform: lambda:GetFunction on resource: arn:aws:lambda:us-east-1:123456789012:function:secret/,
    );
    aws.faults.clear();
    const nowMissing = await failure(lambda.send(new GetFunctionCommand({ FunctionName: 'secret' })));
    assert.equal(nowMissing.name, 'ResourceNotFoundException');
    lambda.destroy();
  });

  test('code from S3 is fetched from s3rver; a missing key fails like Lambda', async () => {
    const s3 = new S3Client({
      endpoint: s3Endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const zip = await makeZip({ 'handler.py': 'def handler(e, c):\n    return 1\n' });
    await s3.send(new CreateBucketCommand({ Bucket: 'code' }));
    await s3.send(new PutObjectCommand({ Bucket: 'code', Key: 'fn.zip', Body: zip }));
    s3.destroy();
    await iam.send(new CreateRoleCommand({ RoleName: 's3-role', AssumeRolePolicyDocument: TRUST }));
    const lambda = new LambdaClient(aws.clientConfig);
    const base = { Runtime: 'python3.11', Handler: 'handler.handler', Role: 'arn:aws:iam::123456789012:role/s3-role' } as const;
    const created = await lambda.send(new CreateFunctionCommand({ ...base, FunctionName: 'from-s3', Code: { S3Bucket: 'code', S3Key: 'fn.zip' } }));
    assert.equal(created.CodeSize, zip.length);
    const missing = await failure(
      lambda.send(new CreateFunctionCommand({ ...base, FunctionName: 'from-s3-missing', Code: { S3Bucket: 'code', S3Key: 'nope.zip' } })),
    );
    lambda.destroy();
    assert.equal(missing.name, 'InvalidParameterValueException');
    assert.match(missing.message, /NoSuchKey/);
  });

  test('with rolePropagationFailures, a just-created role is refused like an unpropagated IAM role', async () => {
    const fresh = await startAwsStandIn({ rolePropagationFailures: 1 });
    try {
      const freshIam = new IAMClient(fresh.clientConfig);
      const role = await freshIam.send(new CreateRoleCommand({ RoleName: 'new-role', AssumeRolePolicyDocument: TRUST }));
      freshIam.destroy();
      const lambda = new LambdaClient(fresh.clientConfig);
      const input = {
        FunctionName: 'fn', Runtime: 'python3.12', Handler: 'h.handler', Role: role.Role!.Arn!,
        Code: { ZipFile: await makeZip({ 'h.py': 'def handler(e, c): pass\n' }) },
      } as const;
      const first = await failure(lambda.send(new CreateFunctionCommand(input)));
      assert.equal(first.message, 'The role defined for the function cannot be assumed by Lambda.');
      assert.equal((await lambda.send(new CreateFunctionCommand(input))).State, 'Pending');
      lambda.destroy();
    } finally {
      await fresh.close();
    }
  });

  test('env configures a child process SDK through AWS_ENDPOINT_URL', async () => {
    const script =
      "import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';" +
      'const id = await new STSClient({}).send(new GetCallerIdentityCommand({}));' +
      'process.stdout.write(id.Account);';
    const { stdout } = await promisify(execFile)(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], {
      cwd: process.cwd(),
      env: { PATH: process.env['PATH'] ?? '', ...aws.env },
    });
    assert.equal(stdout, '123456789012');
    assert.equal(aws.env['AWS_ENDPOINT_URL_S3'], undefined);
    assert.ok(aws.state.calls.some((c) => c.service === 'sts' && c.action === 'GetCallerIdentity' && !c.write));
  });
});
