import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { resolveConfig } from '../../src/config/resolved.js';
import { clientOptionsOf, createAwsClients, endpointOverride } from '../../src/aws/resources/clients.js';
import { isReadAction } from '../../src/aws/resources/call-meter.js';
import { translateAwsError } from '../../src/aws/rules/aws-errors.js';
import { PipeError } from '../../src/errors.js';
import { isConflict, isRoleNotReady } from '../../src/aws/rules/retryable.js';
import { signRequest } from '../../src/aws/resources/sign-request.js';

const config = (aws = {}) => resolveConfig({ app: 'credit', region: 'eu-west-1', aws }, '/p/pipeline.config.ts', 'dev');

describe('AWS clients', () => {
  it('takes --profile over the configured profile, and the stage region', () => {
    assert.deepEqual(clientOptionsOf(config({ profile: 'cfg' }), { profile: 'cli' }).profile, 'cli');
    assert.equal(clientOptionsOf(config({ profile: 'cfg' }), {}).profile, 'cfg');
    assert.equal(clientOptionsOf(config(), {}).region, 'eu-west-1');
  });

  it('finds endpoint overrides in the config, then AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL', () => {
    assert.equal(endpointOverride('s3', { s3: 'http://cfg' }, { AWS_ENDPOINT_URL_S3: 'http://env' }), 'http://cfg');
    assert.equal(endpointOverride('s3', {}, { AWS_ENDPOINT_URL_S3: 'http://env', AWS_ENDPOINT_URL: 'http://all' }), 'http://env');
    assert.equal(endpointOverride('logs', {}, { AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: 'http://logs' }), 'http://logs');
    assert.equal(endpointOverride('lambda', {}, { AWS_ENDPOINT_URL: 'http://all' }), 'http://all');
    assert.equal(endpointOverride('sts', {}, {}), undefined);
  });

  it('uses path-style S3 without streaming checksums when S3 is redirected', async () => {
    const clients = createAwsClients({ region: 'us-east-1', env: { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1' } });
    try {
      assert.equal(clients.s3.config.forcePathStyle, true);
      assert.equal(await clients.s3.config.requestChecksumCalculation(), 'WHEN_REQUIRED');
      assert.equal(await clients.lambda.config.retryStrategy().then((s) => (s as { mode?: string }).mode), 'adaptive');
    } finally {
      clients.destroy();
    }
  });

  it('classifies reads and writes', () => {
    for (const a of ['GetFunction', 'ListLayerVersions', 'HeadObject', 'FilterLogEvents', 'GetCallerIdentity']) assert.equal(isReadAction(a), true, a);
    for (const a of ['CreateFunction', 'PutObject', 'UpdateAlias', 'PublishVersion', 'AddPermission']) assert.equal(isReadAction(a), false, a);
  });

  it('turns AccessDenied and missing credentials into errors that say what to do', () => {
    const denied = Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' });
    const e = translateAwsError(denied, { action: 'lambda:CreateFunction', resource: 'function credit-dev' });
    assert.ok(e instanceof PipeError && e.code === 'AWS_ACCESS_DENIED' && /lambda:CreateFunction on function credit-dev/.test(e.message));
    const missing = translateAwsError(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), { action: 'sts:GetCallerIdentity' });
    assert.ok(missing instanceof PipeError && missing.code === 'AWS_CREDENTIALS_MISSING');
    const other = new Error('boom');
    assert.equal(translateAwsError(other, { action: 'x:Y' }), other);
  });

  it('retries in-progress conflicts and role propagation, not "already exists"', () => {
    const conflict = (m: string) => Object.assign(new Error(m), { name: 'ResourceConflictException' });
    assert.equal(isConflict(conflict('An update is in progress for resource: arn:aws:lambda:...')), true);
    assert.equal(isConflict(conflict('The statement id (pipe-public-url) provided already exists.')), false);
    assert.equal(isRoleNotReady(Object.assign(new Error('The role defined for the function cannot be assumed by Lambda.'), { name: 'InvalidParameterValueException' })), true);
  });
});

describe('SigV4 for AWS_IAM Function URLs', () => {
  it('signs exactly like the SDK signer', async () => {
    const require = createRequire(import.meta.url);
    const { SignatureV4 } = require('@smithy/signature-v4') as typeof import('@smithy/signature-v4');
    class Sha256 {
      private h: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
      constructor(secret?: Uint8Array | string) {
        this.h = secret ? createHmac('sha256', secret) : createHash('sha256');
      }
      update(data: Uint8Array | string) {
        this.h.update(data);
      }
      async digest() {
        return new Uint8Array(this.h.digest());
      }
      reset() {}
    }
    const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'tok' };
    const now = new Date('2026-01-02T03:04:05Z');
    const url = new URL('https://abc.lambda-url.eu-west-1.on.aws/predict?b=2&a=1');
    const body = '{"age":45}';
    const mine = await signRequest({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body, region: 'eu-west-1', service: 'lambda', credentials, now });
    const signer = new SignatureV4({ credentials, region: 'eu-west-1', service: 'lambda', sha256: Sha256 as never });
    const signed = await signer.sign({
      method: 'POST', protocol: 'https:', hostname: url.hostname, path: '/predict', query: { b: '2', a: '1' },
      headers: { 'content-type': 'application/json', host: url.host, 'x-amz-content-sha256': mine['x-amz-content-sha256']! }, body,
    } as never, { signingDate: now });
    assert.equal(mine.authorization, (signed as unknown as { headers: Record<string, string> }).headers.authorization);
  });
});
