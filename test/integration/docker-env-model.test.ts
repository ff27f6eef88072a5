import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runPipe } from '../support/cli.js';
import { makeExampleProject, OFFLINE_PIP_DOCKER } from '../support/example-project.js';
import { BUILD_IMAGE, DOCKER_HOST, engineSkipReason, projectContainers } from '../support/build-engine.js';
import { environmentKey } from '../../src/runners/env-key.js';

const IMAGE = BUILD_IMAGE;
/** The environments of this runner and image: build/venv-<key>, build/runtime-deps-<key>. */
const KEY = environmentKey('docker', IMAGE);
const reason = await engineSkipReason();

describe(reason ? `pipe env model --runner docker (skipped: ${reason})` : 'pipe env model --runner docker', { skip: reason }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await makeExampleProject({
      app: 'docker-e2e',
      runtime: 'python3.11',
      runner: 'docker',
      image: IMAGE,
      docker: { ...OFFLINE_PIP_DOCKER, network: 'none' },
      model: { seed: 7, hyperparameters: { n_estimators: 10, max_depth: 4, max_leaf_nodes: 12 } },
    }));
  });
  after(() => cleanup());

  it('builds the environments and trains in the container; the model passes its SHAP proof', async () => {
    const r = await runPipe(['env', 'model'], { cwd: dir, env: { DOCKER_HOST } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /runner: docker \(localhost\/pipe-build-python3\.11:latest\), Python 3\.11/);
    assert.match(r.stdout, /proof passed/);
    const card = JSON.parse(await readFile(path.join(dir, 'artifacts/model_card.json'), 'utf8')) as Record<string, unknown>;
    assert.ok(card.example_request, 'model card has an example request');
    // Outputs belong to the invoking user, not to the container's root.
    for (const rel of ['artifacts/model.json', `build/venv-${KEY}/pyvenv.cfg`, `build/runtime-deps-${KEY}/python/numpy/__init__.py`]) {
      const info = await stat(path.join(dir, rel));
      assert.equal(`${info.uid}:${info.gid}`, `${process.getuid!()}:${process.getgid!()}`, rel);
    }
    // The venv was made in the container: its interpreter is the image's, at the mount path.
    assert.match(await readFile(path.join(dir, `build/venv-${KEY}/pyvenv.cfg`), 'utf8'), /home = \/usr\/bin/);
    // No container of this project is left behind.
    const left = await projectContainers(dir);
    assert.equal(left.length, 0);
  });

  it('skips both on a second run: the image id is part of the fingerprint and did not change', async () => {
    const r = await runPipe(['env', 'model'], { cwd: dir, env: { DOCKER_HOST } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /- env: skipped \(up to date\)/);
    assert.match(r.stdout, /- model: skipped \(up to date\)/);
    assert.ok(existsSync(path.join(dir, '.pipe/cache/image-python.json')), 'image Python remembered');
  });

  it('a different image: a dry run says env would run for it, a run refuses an image without Python', async () => {
    // A dry run only identifies the image (no container started): env would build this image's environment.
    const dry = await runPipe(['env', '--dry-run', '--image', 'localhost/pipe-busybox:latest'], { cwd: dir, env: { DOCKER_HOST } });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /env\s+run\s+no previous successful run/);
    // Running it prepares the runner: busybox has no Python, refused before env starts, naming the image.
    const r = await runPipe(['env', '--image', 'localhost/pipe-busybox:latest'], { cwd: dir, env: { DOCKER_HOST } });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /pipe-busybox:latest has no python3 or python/);
    assert.doesNotMatch(r.stdout, /> env: running/);
  });
});
