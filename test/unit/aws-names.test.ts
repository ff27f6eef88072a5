import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PipeError, exitCodeOf } from '../../src/errors.js';
import { codeSha256OfHex, hexOfCodeSha256 } from '../../src/aws/rules/code-sha256.js';
import { depsHashOfLayerDescription, layerDescription, objectKey, resourceNames } from '../../src/aws/rules/names.js';
import { parseSince } from '../../src/cli/since.js';

describe('resource names', () => {
  const config = { app: 'credit', stage: 'dev', region: 'eu-west-1', aws: {} };
  it('derives every name from app, stage, account and region', () => {
    const n = resourceNames(config, '123456789012');
    assert.equal(n.functionName, 'credit-dev');
    assert.equal(n.roleName, 'credit-dev-lambda');
    assert.equal(n.layerName, 'credit-deps');
    assert.equal(n.bucket, 'credit-dev-123456789012-eu-west-1');
    assert.equal(n.bucketConfigured, false);
    assert.equal(n.logGroup, '/aws/lambda/credit-dev');
    assert.deepEqual(n.tags, { 'pipe:project': 'credit', 'pipe:stage': 'dev', 'pipe:managed': 'true' });
    assert.equal(objectKey(n, 'function', 'ab'), 'credit/dev/function/ab.zip');
    assert.equal(n.keepWarmRule, 'credit-dev-keep-warm');
  });
  it('keeps the keep-warm rule name within EventBridge\'s 64 characters, distinct per function', () => {
    const long = (stage: string) => resourceNames({ ...config, app: 'a'.repeat(40), stage }, '123456789012').keepWarmRule;
    const a = long('production-europe-01');
    const b = long('production-europe-02');
    assert.ok(a.length <= 64 && b.length <= 64, `${a} ${b}`);
    assert.match(a, /^[.\-_A-Za-z0-9]+$/);
    assert.notEqual(a, b);
  });
  it('uses a configured bucket and remembers it was configured', () => {
    const n = resourceNames({ ...config, aws: { bucket: 'my-bucket' } }, '123456789012');
    assert.equal(n.bucket, 'my-bucket');
    assert.equal(n.bucketConfigured, true);
  });
  it('round-trips the deps hash through the layer description', () => {
    const hash = 'a'.repeat(64);
    assert.equal(depsHashOfLayerDescription(layerDescription(hash)), hash);
    assert.equal(depsHashOfLayerDescription('someone else\'s layer'), undefined);
  });
  it('converts hex sha256 to Lambda\'s base64 CodeSha256 and back', () => {
    const hex = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    assert.equal(codeSha256OfHex(hex), '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
    assert.equal(hexOfCodeSha256(codeSha256OfHex(hex)), hex);
  });
});

describe('--since', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  it('parses durations and ISO dates', () => {
    assert.equal(parseSince('10m', now), now - 600_000);
    assert.equal(parseSince('1h30m', now), now - 5_400_000);
    assert.equal(parseSince('2d', now), now - 172_800_000);
    assert.equal(parseSince('2026-01-01T11:00:00Z', now), now - 3_600_000);
  });
  it('refuses anything else with a usage error', () => {
    assert.throws(() => parseSince('yesterday', now), (e: unknown) => e instanceof PipeError && exitCodeOf(e) === 2 && /10m/.test(e.hint ?? ''));
  });
});
