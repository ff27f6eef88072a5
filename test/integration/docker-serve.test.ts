import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BUILD_IMAGE, DOCKER_HOST, engineSkipReason, projectContainers } from '../support/build-engine.js';
import { makeProject, startPipe, until } from '../support/cli.js';

const IMAGE = BUILD_IMAGE;
const reason = await engineSkipReason();

/** Answers with where it runs: the code path and interpreter prove it is the container's. */
const APP = `import json, os, sys
import some_mod

def handler(event, context):
    body = {
        "path": event.get("rawPath"),
        "version": sys.version.split()[0],
        "executable": sys.executable,
        "file": __file__,
        "layer": some_mod.VALUE,
        "layerFile": some_mod.__file__,
        "uid": os.getuid(),
    }
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
`;

/** The model step of this tiny project: just the two artifacts the package ships. */
const TRAIN = `import argparse, json, os
p = argparse.ArgumentParser()
p.add_argument("--out"); p.add_argument("--seed"); p.add_argument("--params")
a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
json.dump({"trees": []}, open(os.path.join(a.out, "model.json"), "w"))
json.dump({"features": []}, open(os.path.join(a.out, "model_card.json"), "w"))
`;

/** A pure wheel holding some_mod.py: env vendors it into the layer (python/some_mod.py) offline. */
function writeWheel(file: string): void {
  const script = `import sys, zipfile
z = zipfile.ZipFile(sys.argv[1], "w")
z.writestr("some_mod.py", "VALUE = 'from the layer'\\n")
z.writestr("some_mod-1.0.dist-info/METADATA", "Metadata-Version: 2.1\\nName: some-mod\\nVersion: 1.0\\n")
z.writestr("some_mod-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
z.writestr("some_mod-1.0.dist-info/RECORD", "some_mod.py,,\\nsome_mod-1.0.dist-info/METADATA,,\\nsome_mod-1.0.dist-info/WHEEL,,\\nsome_mod-1.0.dist-info/RECORD,,\\n")
z.close()`;
  execFileSync('python3', ['-c', script, file]);
}

describe(reason ? `pipe serve --runner docker (skipped: ${reason})` : 'pipe serve --runner docker', { skip: reason }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;

  before(async () => {
    ({ dir, cleanup } = await makeProject({
      'pipeline.config.ts': `export default ${JSON.stringify({ app: 'serve-docker', runtime: 'python3.11', docker: { network: 'none' } })};\n`,
      'python/requirements.txt': '',
      'python/build_model_artifacts.py': TRAIN,
      'handler/app.py': APP,
      'handler/requirements.txt': './wheels/some_mod-1.0-py3-none-any.whl\n',
    }));
    await mkdir(path.join(dir, 'wheels'));
    writeWheel(path.join(dir, 'wheels', 'some_mod-1.0-py3-none-any.whl'));
  });
  after(() => cleanup?.());

  it('answers from the build image, with the layer importable, and leaves no container on Ctrl-C', async () => {
    const { child, done } = startPipe(['serve', '--runner', 'docker', '--image', IMAGE, '--port', '0'], { cwd: dir, env: { DOCKER_HOST } });
    let stdout = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    let exited = false;
    void done.then(() => (exited = true));
    try {
      await until(() => /Serving .* at http:\/\/127\.0\.0\.1:\d+/.test(stdout) || exited, 240_000, 'the Serving line');
      const serving = /Serving app\.handler in docker (\S+) at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      assert.ok(serving, `${stdout}\n${(await Promise.race([done, Promise.resolve(undefined)]))?.stderr ?? ''}`);
      assert.equal(serving[1], IMAGE);
      const url = serving[2]!;

      const response = await fetch(`${url}/some/path?x=1`);
      assert.equal(response.status, 200);
      const body = (await response.json()) as Record<string, unknown>;
      assert.equal(body.path, '/some/path');
      // The package as Lambda sees it: code at /var/task, the layer at /opt, the image's interpreter.
      assert.equal(body.file, '/var/task/app.py');
      assert.equal(body.layer, 'from the layer');
      assert.equal(body.layerFile, '/opt/python/some_mod.py');
      assert.equal(body.executable, '/usr/bin/python3');
      assert.match(String(body.version), /^3\.11\./);
      assert.equal(body.uid, process.getuid!(), 'runs as the invoking user');
      assert.equal((await projectContainers(dir)).filter((c) => c.State === 'running').length, 1, 'one function container while serving');
    } finally {
      child.kill('SIGINT');
    }
    const result = await done;
    assert.equal(result.code, 130, result.stderr);
    assert.deepEqual(await projectContainers(dir), [], 'no container of this project is left behind');
  });
});
