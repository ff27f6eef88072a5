import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PackageManifest } from '../../src/packaging/package-manifest.js';
import { runPipe } from '../support/cli.js';
import { makeFakeFunctionProject } from '../support/fake-function-project.js';

const manifestOf = async (dir: string): Promise<PackageManifest> =>
  JSON.parse(await readFile(path.join(dir, 'build/package/manifest.json'), 'utf8')) as PackageManifest;

describe('the package task zips the runtime deps once', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let module: string;
  before(async () => {
    ({ dir, cleanup } = await makeFakeFunctionProject({}, { sharedEnv: true }));
    // A runtime dependency of the fake function's (its environment has none): a module in the layer.
    const deps = (await readdir(path.join(dir, 'build'))).find((name) => name.startsWith('runtime-deps-'));
    assert.ok(deps, 'the shared environment has a runtime-deps directory');
    module = path.join(dir, 'build', deps, 'python', 'fake_dependency.py');
    await writeFile(module, 'VALUE = 1\n');
  });
  after(() => cleanup());

  it('a package built again reuses the layer.zip of unchanged files; a changed file, or a damaged zip, is zipped again', async () => {
    const first = await runPipe(['package'], { cwd: dir });
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.doesNotMatch(first.stdout, /unchanged since the last package/);
    const zipped = await manifestOf(dir);
    assert.ok(zipped.layer, 'a layer for the runtime deps');

    const again = await runPipe(['package', '--force'], { cwd: dir });
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /layer\.zip \(runtime deps\): done .*file unchanged since the last package: its layer\.zip again/);
    const reused = await manifestOf(dir);
    assert.deepEqual(reused.layer, zipped.layer);
    assert.equal((await readFile(path.join(dir, 'build/package/layer.zip'))).length, zipped.layer.size);

    // Same size, other content: the zip is made again, with another digest and sha256.
    await writeFile(module, 'VALUE = 2\n');
    const changed = await runPipe(['package', '--force'], { cwd: dir });
    assert.equal(changed.code, 0, changed.stdout + changed.stderr);
    assert.doesNotMatch(changed.stdout, /unchanged since the last package/);
    const rezipped = await manifestOf(dir);
    assert.notEqual(rezipped.layer!.sha256, zipped.layer.sha256);
    assert.notEqual(rezipped.layer!.sources, zipped.layer.sources);

    // A layer.zip that is not the one its manifest describes is never reused.
    await writeFile(path.join(dir, 'build/package/layer.zip'), 'not a zip');
    const damaged = await runPipe(['package', '--force'], { cwd: dir });
    assert.equal(damaged.code, 0, damaged.stdout + damaged.stderr);
    assert.doesNotMatch(damaged.stdout, /unchanged since the last package/);
    assert.deepEqual(await manifestOf(dir), rezipped);
  });
});
