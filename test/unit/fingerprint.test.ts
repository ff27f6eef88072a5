import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { combineFingerprint, hashConfigSlice, hashInputs, type FingerprintParts } from '../../src/fingerprint/fingerprint.js';
import { stableStringify } from '../../src/util/hash.js';

describe('fingerprints', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-fp-'));
    await mkdir(path.join(dir, 'src/sub'), { recursive: true });
    await mkdir(path.join(dir, 'src/__pycache__'), { recursive: true });
    await writeFile(path.join(dir, 'src/a.py'), 'a = 1\n');
    await writeFile(path.join(dir, 'src/sub/b.py'), 'b = 2\n');
    await writeFile(path.join(dir, 'src/__pycache__/a.cpython-311.pyc'), 'junk');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('hashes matched files, sorted, ignoring bytecode caches', async () => {
    const files = await hashInputs(dir, ['src/**']);
    assert.deepEqual(Object.keys(files), ['src/a.py', 'src/sub/b.py']);
    assert.equal(files['src/a.py']!.hash, createHash('sha256').update('a = 1\n').digest('hex'));
  });

  it('reuses a recorded hash only when size and mtime match', async () => {
    const first = await hashInputs(dir, ['src/**']);
    const fake = { ...first, 'src/a.py': { ...first['src/a.py']!, hash: 'recorded' } };
    assert.equal((await hashInputs(dir, ['src/**'], fake))['src/a.py']!.hash, 'recorded');
    await writeFile(path.join(dir, 'src/a.py'), 'a = 10\n');
    await utimes(path.join(dir, 'src/a.py'), new Date(), new Date(Date.now() + 5000));
    assert.notEqual((await hashInputs(dir, ['src/**'], fake))['src/a.py']!.hash, 'recorded');
  });

  it('changes with any part and not with key order', () => {
    const base: FingerprintParts = { files: { f: { hash: 'h', size: 1, mtimeMs: 1 } }, config: hashConfigSlice({ a: 1, b: 2 }), tools: { python: '3.11' }, dependencies: { env: 'x' } };
    const fp = combineFingerprint('model', base);
    assert.equal(combineFingerprint('model', { ...base, config: hashConfigSlice({ b: 2, a: 1 }) }), fp);
    assert.equal(combineFingerprint('model', { ...base, files: { f: { hash: 'h', size: 9, mtimeMs: 9 } } }), fp, 'stat data is not content');
    assert.notEqual(combineFingerprint('model', { ...base, files: { f: { hash: 'h2', size: 1, mtimeMs: 1 } } }), fp);
    assert.notEqual(combineFingerprint('model', { ...base, tools: { python: '3.12' } }), fp);
    assert.notEqual(combineFingerprint('model', { ...base, dependencies: { env: 'y' } }), fp);
    assert.notEqual(combineFingerprint('other', base), fp);
  });

  it('stableStringify sorts keys at every level', () => {
    assert.equal(stableStringify({ b: { d: 1, c: 2 }, a: [2, 1] }), '{"a":[2,1],"b":{"c":2,"d":1}}');
  });
});
