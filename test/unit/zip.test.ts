import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import yauzl from 'yauzl';
import { collectFiles, entriesDigest, writeDeterministicZip } from '../../src/packaging/zip.js';

function listZip(file: string): Promise<{ name: string; mode: number; size: number; mtime: Date }[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const out: { name: string; mode: number; size: number; mtime: Date }[] = [];
      zip.on('entry', (e: yauzl.Entry) => {
        out.push({ name: e.fileName, mode: (e.externalFileAttributes >>> 16) & 0o777, size: e.uncompressedSize, mtime: e.getLastModDate() });
        zip.readEntry();
      });
      zip.on('end', () => resolve(out));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

describe('deterministic zip', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-zip-'));
    await mkdir(path.join(dir, 'src/pkg'), { recursive: true });
    await writeFile(path.join(dir, 'src/b.py'), 'print("b")\n');
    await writeFile(path.join(dir, 'src/pkg/a.py'), 'x = 1\n'.repeat(100));
    await writeFile(path.join(dir, 'src/run.sh'), '#!/bin/sh\n');
    await chmod(path.join(dir, 'src/run.sh'), 0o700);
    await chmod(path.join(dir, 'src/b.py'), 0o600);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('gives the same bytes for the same files, whatever their times and modes', async () => {
    const entries = await collectFiles(path.join(dir, 'src'), '');
    const first = await writeDeterministicZip(entries, path.join(dir, 'one.zip'));
    await utimes(path.join(dir, 'src/b.py'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    await chmod(path.join(dir, 'src/b.py'), 0o644);
    const second = await writeDeterministicZip([...entries].reverse(), path.join(dir, 'two.zip'));
    assert.equal(second.sha256, first.sha256);
    const bytes = await readFile(path.join(dir, 'one.zip'));
    assert.equal(createHash('sha256').update(bytes).digest('hex'), first.sha256);
    assert.equal(first.size, bytes.length);
    assert.equal(first.unzippedSize, 11 + 600 + 10);
  });

  it('sorts entries, fixes timestamps and normalises modes', async () => {
    const entries = await collectFiles(path.join(dir, 'src'), 'python');
    await writeDeterministicZip(entries, path.join(dir, 'three.zip'));
    const listed = await listZip(path.join(dir, 'three.zip'));
    assert.deepEqual(listed.map((e) => e.name), ['python/b.py', 'python/pkg/a.py', 'python/run.sh']);
    assert.deepEqual(listed.map((e) => e.mode), [0o644, 0o644, 0o755]);
    for (const e of listed) assert.equal(e.mtime.getFullYear(), 1980);
  });

  it('keeps the sorted order with many files of different sizes (no order from parallel stats)', async () => {
    const many = path.join(dir, 'many');
    await mkdir(many);
    for (let i = 0; i < 400; i++) await writeFile(path.join(many, `f${String(i).padStart(3, '0')}.txt`), 'x'.repeat((i * 7919) % 5000));
    const entries = await collectFiles(many, '');
    const hashes = new Set<string>();
    for (let i = 0; i < 3; i++) hashes.add((await writeDeterministicZip(entries, path.join(dir, `many-${i}.zip`))).sha256);
    assert.equal(hashes.size, 1);
    const listed = await listZip(path.join(dir, 'many-0.zip'));
    assert.deepEqual(listed.map((e) => e.name), entries.map((e) => e.name).sort());
  });

  it('changes when a file changes', async () => {
    const entries = await collectFiles(path.join(dir, 'src'), '');
    const before = await writeDeterministicZip(entries, path.join(dir, 'four.zip'));
    await writeFile(path.join(dir, 'src/b.py'), 'print("c")\n');
    const afterChange = await writeDeterministicZip(entries, path.join(dir, 'five.zip'));
    assert.notEqual(afterChange.sha256, before.sha256);
  });

  it('has a digest of what decides its bytes: names, contents and the executable bit, not times or order', async () => {
    const tree = path.join(dir, 'digest');
    await mkdir(path.join(tree, 'pkg'), { recursive: true });
    await writeFile(path.join(tree, 'pkg/a.py'), 'A = 1\n');
    await writeFile(path.join(tree, 'b.py'), 'B = 1\n');
    const entries = await collectFiles(tree, 'python');
    const digest = await entriesDigest(entries);
    await utimes(path.join(tree, 'b.py'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    await chmod(path.join(tree, 'b.py'), 0o600);
    assert.equal(await entriesDigest([...entries].reverse()), digest, 'times, modes other than x, order');
    await chmod(path.join(tree, 'b.py'), 0o700);
    const executable = await entriesDigest(entries);
    assert.notEqual(executable, digest, 'the executable bit');
    await writeFile(path.join(tree, 'b.py'), 'B = 2\n');
    assert.notEqual(await entriesDigest(entries), executable, 'a content of the same size');
    const renamed = entries.map((e) => ({ ...e, name: e.name.replace('python/', 'lib/') }));
    assert.notEqual(await entriesDigest(renamed), await entriesDigest(entries), 'the names in the archive');
  });
});
