import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { explainTrainingFailure, explainVendorFailure } from '../../src/packaging/missing-wheels.js';
import { CommandError, PipeError } from '../../src/errors.js';
import { makeProject, runPipe } from '../support/cli.js';

const PIP_TAIL = [
  'ERROR: Could not find a version that satisfies the requirement numpy==2.2.6 (from versions: none)',
  'ERROR: No matching distribution found for numpy==2.2.6',
];
const REQUEST = {
  runtime: 'python3.12', architecture: 'x86_64', pythonVersion: '3.12', requirements: 'handler/requirements.txt',
  platforms: ['manylinux2014_x86_64', 'manylinux_2_17_x86_64', 'manylinux_2_18_x86_64', 'manylinux_2_34_x86_64'],
} as const;

describe('runtime wheels that cannot be found', () => {
  it('says which package, for which Python and platforms, and how to give pip an index or a wheelhouse', () => {
    const failed = new CommandError({ command: 'python -m pip install ...', exitCode: 1, where: 'docker img', stderrTail: PIP_TAIL });
    const error = explainVendorFailure(failed, { ...REQUEST, runner: 'docker' });
    assert.ok(error instanceof PipeError && error.code === 'RUNTIME_WHEELS_NOT_FOUND', String(error));
    assert.match(error.message, /^No wheel of numpy==2\.2\.6 \(from handler\/requirements\.txt\) for the python3\.12 x86_64 runtime/);
    assert.match(error.message, /Python 3\.12 \(cp312\) binary wheels for platforms manylinux2014_x86_64, manylinux_2_17_x86_64 \.\.\. manylinux_2_34_x86_64/);
    assert.match(error.message, /, and found none\.\n/);
    assert.match(error.message, /pip: ERROR: No matching distribution found for numpy==2\.2\.6/);
    assert.match(error.hint ?? '', /numpy-2\.2\.6-cp312-cp312-manylinux_2_17_x86_64\.whl/);
    assert.match(error.hint ?? '', /PIP_INDEX_URL/);
    assert.match(error.hint ?? '', /PIP_FIND_LINKS/);
    assert.match(error.hint ?? '', /docker: \{ binds: \['\/srv\/wheels:\/srv\/wheels:ro'\] \}/);
    assert.equal(error.cause, failed);
    // The local runner reads the host's pip configuration: no advice about mounts.
    assert.doesNotMatch((explainVendorFailure(failed, { ...REQUEST, runner: 'local' }) as PipeError).hint ?? '', /binds/);
  });

  it('leaves other failures alone', () => {
    const other = new CommandError({ command: 'pip install', exitCode: 1, where: 'local', stderrTail: ['ERROR: Could not install packages due to an OSError'] });
    assert.equal(explainVendorFailure(other, { ...REQUEST, runner: 'local' }), other);
  });

  describe('pipe env for python3.12 where the wheels on disk are cp311 only (real pip, local runner)', () => {
    let dir: string;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ dir, cleanup } = await makeProject({
        'pipeline.config.ts': "export default { app: 'wheels', runtime: 'python3.12', runner: 'local', buildEnv: { PIP_RETRIES: '0', PIP_NO_INDEX: '1' } };\n",
        'python/requirements.txt': '# nothing to train with\n',
        'handler/requirements.txt': 'numpy==2.2.6\n',
      }));
    });
    after(() => cleanup());

    it('fails with the package, the Python version, the platform tags and where to point pip', async () => {
      const r = await runPipe(['env'], { cwd: dir });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /No wheel of numpy==2\.2\.6 \(from handler\/requirements\.txt\) for the python3\.12 x86_64 runtime/);
      assert.match(r.stderr, /Python 3\.12 \(cp312\) binary wheels for platforms manylinux2014_x86_64/);
      assert.match(r.stderr, /hint: .*PIP_FIND_LINKS/);
      assert.doesNotMatch(r.stderr, /bug in pipe/);
    });
  });

  describe('a training package no index has (xgboost), through the real CLI and pip', () => {
    let dir: string;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ dir, cleanup } = await makeProject({
        'pipeline.config.ts':
          "export default { app: 'nowheel', runtime: 'python3.11', runner: 'local', model: { estimator: 'xgboost' }, " +
          "buildEnv: { PIP_RETRIES: '0', PIP_NO_INDEX: '1', PIP_FIND_LINKS: '/nonexistent/wheels' } };\n",
        'python/requirements.txt': '# nothing else to train with\n',
        'python/requirements-xgboost.txt': 'xgboost-not-on-any-index>=1.7\n',
        'handler/requirements.txt': '# nothing\n',
      }));
    });
    after(() => cleanup());

    it('names the package, the file asking for it, where pip looked and how to point it elsewhere', async () => {
      const r = await runPipe(['env'], { cwd: dir });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /The training environment cannot install xgboost-not-on-any-index>=1\.7 \(from python\/requirements\.txt or python\/requirements-xgboost\.txt\)/);
      assert.match(r.stderr, /pip looked in the wheelhouse \/nonexistent\/wheels for Python 3\.11/);
      assert.match(r.stderr, /hint: .*PIP_INDEX_URL.*PIP_FIND_LINKS/);
    });

    it('says the container reads no host configuration when nothing points pip anywhere', () => {
      const failed = new CommandError({ command: 'pip install', exitCode: 1, where: 'docker img', stderrTail: ['ERROR: No matching distribution found for xgboost>=1.7'] });
      const error = explainTrainingFailure(failed, { requirements: ['python/requirements.txt'], pythonVersion: '3.11.2', runner: 'docker', env: {} }) as PipeError;
      assert.equal(error.code, 'TRAINING_PACKAGE_NOT_FOUND');
      assert.match(error.message, /pip's default index \(PyPI\): the build container reads neither the host's pip configuration/);
      assert.match(error.hint ?? '', /binds/);
    });
  });
});
