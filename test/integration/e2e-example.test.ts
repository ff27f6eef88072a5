import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runPipe, startPipe, until } from '../support/cli.js';
import { startHarness, type Harness } from '../support/deploy-harness.js';
import { makeExampleProject } from '../support/example-project.js';
import { type BinaryPrediction, sumShap } from '../support/predictions.js';

/**
 * The main job end to end on the example model, through the real CLI: model and package on the local
 * runner (env built once by the CLI for all the example's tests: test/support/shared-env.ts), `serve`
 * with real HTTP, then deploy / update / undeploy against s3rver and the AWS stand-in, whose Function
 * URLs run the deployed zip in the same local runtime.
 */



async function post(url: string, body: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(new URL('/predict', url), { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('example model end to end', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let example: Record<string, number | null>;
  before(async () => {
    ({ dir, cleanup } = await makeExampleProject({
      app: 'credit-e2e',
      runtime: 'python3.11',
      runner: 'local',
      buildEnv: { PIP_RETRIES: '0' },
      model: { seed: 3, hyperparameters: { n_estimators: 12, max_depth: 5, max_leaf_nodes: 20 } },
    }, { sharedEnv: true }));
    const r = await runPipe(['package'], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /- env: skipped \(up to date\)/, 'the shared environments are up to date here');
    example = (JSON.parse(await readFile(path.join(dir, 'artifacts/model_card.json'), 'utf8')) as { example_request: Record<string, number> }).example_request;
  });
  after(() => cleanup());

  it('ships the handler compiled by the runtime\'s Python, as bytecode used whatever the zip\'s file times', async () => {
    // Each module's pyc sits in __pycache__ with the cache tag of the runtime; its header flags say
    // hash-based and unchecked (PEP 552), so Lambda's read-only code directory needs no compile.
    const listing = execFileSync('python3', ['-c', `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in z.namelist():
        if name.endswith(".py") or name.endswith(".pyc"):
            print(name, int.from_bytes(z.read(name)[4:8], "little") if name.endswith(".pyc") else "-")
`, path.join(dir, 'build/package/function.zip')], { encoding: 'utf8' });
    const entries = new Map(listing.trim().split('\n').map((line) => line.split(' ') as [string, string]));
    const modules = [...entries.keys()].filter((name) => name.endsWith('.py'));
    assert.ok(modules.includes('app.py') && modules.includes('explainer.py'), listing);
    for (const module of modules) {
      const pyc = `__pycache__/${module.replace(/\.py$/, '')}.cpython-311.pyc`;
      assert.equal(entries.get(pyc), '1', `${pyc} (flags) in ${listing}`);
    }
  });

  it('serves predictions with SHAP values that add up, and 4xx errors naming the problem', async () => {
    const serve = startPipe(['serve', '--port', '0'], { cwd: dir });
    let stdout = '';
    serve.child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    try {
      await until(() => /http:\/\/127\.0\.0\.1:\d+/.test(stdout), 60_000, 'the served URL');
      const url = /http:\/\/127\.0\.0\.1:\d+/.exec(stdout)![0];
      assert.match(stdout, /curl .*\/predict/);

      const records = [example, { ...example, MonthlyIncome: null }, { ...example, NumberOfTimes90DaysLate: 3, age: 23 }];
      const ok = await post(url, JSON.stringify(records));
      assert.equal(ok.status, 200);
      const predictions = ok.json.predictions as BinaryPrediction[];
      assert.equal(predictions.length, 3);
      for (const p of predictions) {
        assert.equal(Object.keys(p.shap).length, 10);
        assert.ok(Math.abs(p.base_value + sumShap(p.shap) - p.probability) < 1e-9, 'base + sum(shap) = probability');
      }
      // The forest routes a missing income down the branch it learned for it: nothing is imputed.
      assert.deepEqual(predictions[1]!.imputed, []);
      assert.ok(predictions[2]!.probability > predictions[0]!.probability, 'late payments raise the risk');

      const badJson = await post(url, '{"age": ');
      assert.equal(badJson.status, 400);
      const unknown = await post(url, JSON.stringify({ ...example, Salary: 1 }));
      assert.equal(unknown.status, 400);
      assert.match(JSON.stringify(unknown.json), /Salary/);
      const wrongType = await post(url, JSON.stringify({ ...example, age: 'old' }));
      assert.equal(wrongType.status, 400);
      assert.match(JSON.stringify(wrongType.json), /age/);
      const card = (await (await fetch(new URL('/', url))).json()) as { features: unknown[] };
      assert.equal(card.features.length, 10);

      const invoked = await runPipe(['invoke', '--data', JSON.stringify(example)], { cwd: dir });
      assert.equal(invoked.code, 0, invoked.stderr);
      assert.match(invoked.stdout, /"probability"/);
    } finally {
      serve.child.kill('SIGINT');
      const r = await serve.done;
      assert.equal(r.code, 130);
    }
  });

  describe('on AWS (stand-in)', () => {
    let aws: Harness;
    before(async () => {
      aws = await startHarness();
    });
    after(() => aws.close());

    it('deploys, answers with SHAP values at the printed URL, updates a handler change, and undeploys leaving nothing', async () => {
      const deployed = await runPipe(['deploy'], { cwd: dir });
      assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
      const url = /http:\/\/127\.0\.0\.1:\d+\/?/.exec(deployed.stdout)?.[0];
      assert.ok(url, `a URL in:\n${deployed.stdout}`);
      const first = await post(url, JSON.stringify(example));
      assert.equal(first.status, 200);
      const p = (first.json.predictions as BinaryPrediction[])[0]!;
      assert.ok(Math.abs(p.base_value + sumShap(p.shap) - p.probability) < 1e-9);

      // A second deploy with nothing changed writes nothing.
      const writesBefore = aws.standIn.state.writeCalls().length;
      const again = await runPipe(['deploy'], { cwd: dir });
      assert.equal(again.code, 0, again.stderr);
      assert.equal(aws.standIn.state.writeCalls().length, writesBefore, 'no write calls');

      // A one-line handler change: package re-runs (and only it), update ships the small function zip.
      const app = path.join(dir, 'handler/app.py');
      await writeFile(app, `${await readFile(app, 'utf8')}\n# a comment that changes the code hash\n`);
      const calls = aws.standIn.state.calls.length;
      const updated = await runPipe(['update'], { cwd: dir });
      assert.equal(updated.code, 0, updated.stdout + updated.stderr);
      assert.match(updated.stdout, /- env: skipped/);
      assert.match(updated.stdout, /- model: skipped/);
      assert.match(updated.stdout, /> package: running \(inputs changed: handler\/app\.py\)/);
      const uploaded = aws.standIn.state.calls.slice(calls).reduce((n, c) => n + (c.write ? c.requestBytes : 0), 0);
      const manifest = JSON.parse(await readFile(path.join(dir, 'build/package/manifest.json'), 'utf8')) as { function: { size: number }; layer: { size: number } };
      assert.ok(uploaded < manifest.layer.size / 10, `update uploaded ${uploaded} bytes; the layer is ${manifest.layer.size}`);
      assert.equal((await post(url, JSON.stringify(example))).status, 200);

      const removed = await runPipe(['undeploy', '--yes'], { cwd: dir });
      assert.equal(removed.code, 0, removed.stdout + removed.stderr);
      assert.equal(aws.standIn.state.functions.size, 0);
      assert.equal(aws.standIn.state.roles.size, 0, `${removed.stdout}\nroles: ${[...aws.standIn.state.roles.keys()].join(", ")}`);
      assert.equal([...aws.standIn.state.layers.values()].reduce((n, l) => n + l.versions.size, 0), 0, "layer versions left");
    });
  });
});
