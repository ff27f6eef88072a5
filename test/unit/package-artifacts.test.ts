import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { PipeError } from '../../src/errors.js';
import { deployedArtifacts } from '../../src/packaging/artifacts.js';

const code = (c: string) => (e: unknown) => e instanceof PipeError && e.code === c;

describe('deployed artifacts', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pipe-artifacts-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));
  const write = async (name: string, text: string) => {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), text);
  };

  it("ships the card and the files its artifacts map lists, and takes the card's example request", async () => {
    await write('model_card.json', JSON.stringify({ artifacts: { 'model.json': { sha256: 'ab' } }, example_request: { age: 45 } }));
    await write('model.json', '{}');
    await write('model.joblib', 'pickle');
    await write('metrics.json', '{}');
    assert.deepEqual(await deployedArtifacts(dir, 'artifacts'), { files: ['model.json', 'model_card.json'], exampleRequest: { age: 45 } });
  });

  it('ships the whole directory, hidden files left out, when the card lists nothing', async () => {
    await write('model_card.json', JSON.stringify({ name: 'fake' }));
    await write('model.json', '{}');
    await write('extra/lookup.csv', 'a,b');
    await write('.DS_Store', '');
    assert.deepEqual(await deployedArtifacts(dir, 'artifacts'), { files: ['extra/lookup.csv', 'model.json', 'model_card.json'] });
  });

  it('names what is missing: the card, or a file it lists', async () => {
    await assert.rejects(deployedArtifacts(dir, 'artifacts'), (e: unknown) => code('ARTIFACTS_MISSING')(e) && /artifacts\/ lacks model_card\.json/.test((e as Error).message));
    await write('model_card.json', JSON.stringify({ artifacts: { 'model.json': {} } }));
    await assert.rejects(deployedArtifacts(dir, 'artifacts'), (e: unknown) => code('ARTIFACTS_MISSING')(e) && /lacks model\.json$/.test((e as Error).message));
  });

  it('refuses a listed name outside the directory', async () => {
    await write('model_card.json', JSON.stringify({ artifacts: { '../secret.txt': {} } }));
    await assert.rejects(deployedArtifacts(dir, 'artifacts'), code('ARTIFACTS_INVALID'));
  });
});
