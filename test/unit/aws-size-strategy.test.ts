import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PipeError } from '../../src/errors.js';
import {
  DIRECT_UPLOAD_LIMIT, UNZIPPED_LIMIT, chooseSizeStrategy, describeSizeStrategy, slimEphemeralStorage, uploadRoute,
} from '../../src/aws/rules/size-strategy.js';

const MB = 1_048_576;

describe('size strategy', () => {
  it('uploads directly up to exactly 50 MB and via S3 one byte over', () => {
    assert.equal(uploadRoute(DIRECT_UPLOAD_LIMIT), 'direct');
    assert.equal(uploadRoute(DIRECT_UPLOAD_LIMIT + 1), 's3');
  });

  it('puts deps in a layer and keeps the function zip small', () => {
    const input = { function: { size: 200_000, unzippedSize: 600_000 }, layer: { size: 40 * MB, unzippedSize: 150 * MB }, ephemeralStorage: 512, allowSlim: false };
    const s = chooseSizeStrategy(input);
    assert.equal(s.mode, 'layer');
    assert.equal(s.functionUpload, 'direct');
    assert.equal(s.mode === 'layer' && s.layerUpload, 'direct');
    assert.equal(s.totalUnzipped, 600_000 + 150 * MB);
    const lines = describeSizeStrategy(s, input);
    assert.match(lines[0]!, /layer/);
    assert.match(lines.join('\n'), /function\.zip 195 KB \(586 KB unzipped\), direct upload \(<= 50 MB\)/);
  });

  it('sends a layer over 50 MB through S3', () => {
    const s = chooseSizeStrategy({ function: { size: 1000, unzippedSize: 2000 }, layer: { size: 60 * MB, unzippedSize: 200 * MB }, ephemeralStorage: 512, allowSlim: false });
    assert.equal(s.mode === 'layer' && s.layerUpload, 's3');
  });

  it('accepts exactly the unzipped limit and refuses one byte more with the numbers', () => {
    const fn = { size: 1000, unzippedSize: 1000 };
    const ok = chooseSizeStrategy({ function: fn, layer: { size: 10, unzippedSize: UNZIPPED_LIMIT - 1000 }, ephemeralStorage: 512, allowSlim: false });
    assert.equal(ok.mode, 'layer');
    assert.throws(
      () => chooseSizeStrategy({ function: fn, layer: { size: 172 * MB, unzippedSize: UNZIPPED_LIMIT - 999 }, ephemeralStorage: 512, allowSlim: false }),
      (e: unknown) => e instanceof PipeError && e.code === 'PACKAGE_TOO_LARGE' && /262,144,001 bytes/.test(e.message) && /--slim/.test(e.hint ?? ''),
    );
  });

  it('names the configured requirements file and artifacts directory in its advice', () => {
    const sources = { requirements: 'lambda/requirements.txt', artifacts: 'model-out' };
    const over = { function: { size: 1000, unzippedSize: 1000 }, layer: { size: 172 * MB, unzippedSize: UNZIPPED_LIMIT }, ephemeralStorage: 512, sources };
    for (const allowSlim of [false, true]) {
      const input = allowSlim ? { ...over, function: { size: 100 * MB, unzippedSize: UNZIPPED_LIMIT + 1 } } : over;
      assert.throws(
        () => chooseSizeStrategy({ ...input, allowSlim }),
        (e: unknown) => e instanceof PipeError && /lambda\/requirements\.txt/.test(e.hint ?? '') && !/requirements-runtime/.test(e.hint ?? ''),
      );
    }
    assert.throws(
      () => chooseSizeStrategy({ ...over, function: { size: 100 * MB, unzippedSize: UNZIPPED_LIMIT + 1 }, allowSlim: true }),
      (e: unknown) => e instanceof PipeError && /artifacts \(model-out\/\)/.test(e.hint ?? ''),
    );
  });

  it('chooses slim mode only when allowed, sizing /tmp to fit the deps', () => {
    const input = { function: { size: 300_000, unzippedSize: 900_000 }, layer: { size: 172 * MB, unzippedSize: 426 * MB }, ephemeralStorage: 512, allowSlim: true };
    const s = chooseSizeStrategy(input);
    assert.equal(s.mode, 'slim');
    assert.ok(s.ephemeralStorage >= Math.ceil(((426 + 172) * MB) / MB));
    assert.equal(s.ephemeralStorage, slimEphemeralStorage(172 * MB, 426 * MB, 512));
    assert.match(describeSizeStrategy(s, input).join('\n'), /slim/);
  });

  it('keeps a larger configured /tmp in slim mode', () => {
    assert.equal(slimEphemeralStorage(10, 10, 4096), 4096);
  });

  it('refuses a function zip that alone exceeds the limit even in slim mode', () => {
    assert.throws(
      () => chooseSizeStrategy({ function: { size: 100 * MB, unzippedSize: UNZIPPED_LIMIT + 1 }, layer: { size: 1, unzippedSize: 1 }, ephemeralStorage: 512, allowSlim: true }),
      /function zip alone/,
    );
  });

  it('ships a package without deps as the function zip only', () => {
    const s = chooseSizeStrategy({ function: { size: 60 * MB, unzippedSize: 100 * MB }, layer: null, ephemeralStorage: 512, allowSlim: false });
    assert.equal(s.mode, 'function-only');
    assert.equal(s.functionUpload, 's3');
  });
});
