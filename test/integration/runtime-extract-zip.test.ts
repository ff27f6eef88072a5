import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { extractZip } from '../../src/runtime/extract-zip.js';

/** Writes a zip whose entries are [name, content, mode] with Python's zipfile. */
function writeZip(zipPath: string, entries: [string, string, number][]): void {
  const script = [
    'import json, sys, zipfile',
    'with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:',
    '    for name, content, mode in json.loads(sys.argv[2]):',
    '        info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))',
    '        info.external_attr = mode << 16',
    '        z.writestr(info, content)',
  ].join('\n');
  execFileSync('python3', ['-c', script, zipPath, JSON.stringify(entries)]);
}

describe('extractZip', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-unzip-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('extracts files, nested directories and permission bits, and counts them', async () => {
    const zip = path.join(dir, 'function.zip');
    writeZip(zip, [
      ['app.py', 'def handler(e, c):\n    return e\n', 0o644],
      ['artifacts/model_card.json', '{"a": 1}', 0o644],
      ['bin/tool', '#!/bin/sh\n', 0o755],
      ['empty/', '', 0o755],
    ]);
    const dest = path.join(dir, 'out');
    const result = await extractZip(zip, dest);
    assert.deepEqual(result, { files: 3, unzippedBytes: 32 + 8 + 10 });
    assert.equal(await readFile(path.join(dest, 'artifacts', 'model_card.json'), 'utf8'), '{"a": 1}');
    assert.equal((await stat(path.join(dest, 'bin', 'tool'))).mode & 0o777, 0o755);
    assert.equal((await stat(path.join(dest, 'app.py'))).mode & 0o777, 0o644);
    assert.ok((await stat(path.join(dest, 'empty'))).isDirectory());
  });

  it('refuses entries that would land outside the destination', async () => {
    for (const name of ['../evil.py', '/etc/evil.py', 'a/../../evil.py']) {
      const zip = path.join(dir, 'evil.zip');
      writeZip(zip, [[name, 'x', 0o644]]);
      const dest = path.join(dir, 'evil-out', 'inner');
      await assert.rejects(extractZip(zip, dest), (error: any) => error.code === 'ZIP_EXTRACT_FAILED' && /unsafe path/.test(error.message));
      assert.equal(existsSync(path.join(dir, 'evil-out', 'evil.py')), false);
      assert.equal(existsSync(path.join(dir, 'evil.py')), false);
    }
  });

  it('names a file that is not a zip', async () => {
    const notZip = path.join(dir, 'not.zip');
    await writeFile(notZip, 'plain text');
    await assert.rejects(extractZip(notZip, path.join(dir, 'x')), (error: any) => error.code === 'ZIP_EXTRACT_FAILED' && error.message.includes(notZip));
  });

  it('says which interpreter could not run', async () => {
    await assert.rejects(extractZip(path.join(dir, 'function.zip'), path.join(dir, 'y'), { python: 'python-missing-here' }), (error: any) => error.code === 'PYTHON_NOT_FOUND' && /python-missing-here/.test(error.message));
  });
});
