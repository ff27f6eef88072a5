import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runPipe, startPipe, until } from '../support/cli.js';
import { makeExampleProject } from '../support/example-project.js';
import { type BinaryPrediction, sumShap } from '../support/predictions.js';

/**
 * A user's own table and model through the real CLI, configuration only: a CSV whose column names
 * need quoting, string categories, booleans, missing values and string class labels, trained with
 * LightGBM (native categorical splits), packaged and served; the answers are checked for additivity
 * in the card's SHAP space and for the errors a client can make.
 */

const PURPOSES = ['car', 'home', 'education', 'business'];

/** A deterministic loans table (a linear congruential generator: the same bytes on every run). */
function loansCsv(rows: number): string {
  let state = 12345;
  const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  const lines = ['applicant id,loan purpose,"income / month",years-employed,home owner,debt ratio,defaulted'];
  for (let i = 0; i < rows; i++) {
    const purpose = random() < 0.05 ? '' : PURPOSES[Math.floor(random() * PURPOSES.length)]!;
    const income = random() < 0.1 ? 'NA' : (1500 + random() * 6000).toFixed(2);
    const years = Math.floor(random() * 30);
    const owner = random() < 0.4 ? 'true' : 'false';
    const debt = (random() * 1.2).toFixed(3);
    const risk = -1.5 + 2.2 * Number(debt) - (income === 'NA' ? 0 : Number(income) / 4000) - years / 20
      + (purpose === 'business' ? 1.2 : 0) + (owner === 'true' ? -0.5 : 0);
    const defaulted = random() < 1 / (1 + Math.exp(-risk)) ? 'yes' : 'no';
    lines.push(`A${1000 + i},${purpose},${income},${years},${owner},${debt},${defaulted}`);
  }
  return `${lines.join('\n')}\n`;
}


const logit = (p: number) => Math.log(p / (1 - p));

describe('your own CSV and a LightGBM model, configuration only', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await makeExampleProject({
      app: 'loans-e2e',
      runtime: 'python3.11',
      runner: 'local',
      buildEnv: { PIP_RETRIES: '0' },
      model: {
        data: 'data/loans.csv',
        target: 'defaulted',
        exclude: ['applicant id'],
        estimator: 'lightgbm',
        hyperparameters: { n_estimators: 40, num_leaves: 15 },
      },
    }, { sharedEnv: true }));
    await mkdir(path.join(dir, 'data'));
    await writeFile(path.join(dir, 'data/loans.csv'), loansCsv(1500));
  });
  after(() => cleanup());

  it('trains, proves and serves it: types inferred, names kept, log-odds SHAP that add up, clear 4xx', async () => {
    const built = await runPipe(['package'], { cwd: dir });
    assert.equal(built.code, 0, built.stdout + built.stderr);
    const card = JSON.parse(await readFile(path.join(dir, 'artifacts/model_card.json'), 'utf8')) as {
      task: string; classes: string[]; shap_output: string; example_request: Record<string, unknown>;
      features: { name: string; type: string; categories?: string[]; missing: string }[];
    };
    assert.equal(card.task, 'binary');
    assert.deepEqual(card.classes, ['no', 'yes']);
    assert.equal(card.shap_output, 'log_odds');
    assert.deepEqual(card.features.map((f) => [f.name, f.type]), [
      ['loan purpose', 'category'], ['income / month', 'number'], ['years-employed', 'number'],
      ['home owner', 'boolean'], ['debt ratio', 'number'],
    ]);
    assert.deepEqual(card.features[0]!.categories, ['business', 'car', 'education', 'home']);
    assert.ok(card.features.every((f) => f.missing === 'native'));

    const serve = startPipe(['serve', '--port', '0'], { cwd: dir });
    let stdout = '';
    serve.child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    try {
      await until(() => /http:\/\/127\.0\.0\.1:\d+/.test(stdout), 60_000, 'the served URL');
      const url = /http:\/\/127\.0\.0\.1:\d+/.exec(stdout)![0];
      const post = async (body: unknown) => {
        const res = await fetch(new URL('/predict', url), { method: 'POST', body: JSON.stringify(body) });
        return { status: res.status, json: (await res.json()) as Record<string, unknown> };
      };
      const example = card.example_request;
      const records = [
        example,
        { ...example, 'loan purpose': 'business', 'debt ratio': 1.1 },
        { ...example, 'loan purpose': null, 'income / month': null, 'years-employed': 2.5 },
      ];
      const ok = await post(records);
      assert.equal(ok.status, 200, JSON.stringify(ok.json));
      assert.equal(ok.json.shap_output, 'log_odds');
      const predictions = ok.json.predictions as BinaryPrediction[];
      for (const p of predictions) {
        assert.deepEqual(Object.keys(p.shap), card.features.map((f) => f.name));
        assert.ok(Math.abs(p.base_value + sumShap(p.shap) - logit(p.probability)) < 1e-9, 'base + sum(shap) = logit(p)');
        assert.ok(['no', 'yes'].includes(p.decision));
        for (const reason of p.reasons) {
          assert.equal(reason.contribution, p.shap[reason.feature], 'a reason carries its SHAP value');
          assert.ok(reason.text.startsWith(`${reason.feature} = `), reason.text);
        }
      }
      assert.ok(predictions[1]!.probability > predictions[0]!.probability, 'business loans with high debt are riskier');
      assert.ok(predictions[1]!.shap['loan purpose']! > 0, 'one SHAP value for the whole category column');

      const unseen = await post({ ...example, 'loan purpose': 'boat' });
      assert.equal(unseen.status, 400);
      const error = unseen.json.error as { code: string; field: string; message: string };
      assert.equal(error.code, 'unknown_category');
      assert.equal(error.field, 'loan purpose');
      assert.match(error.message, /"boat".*known: "business", "car", "education", "home"/);
      const wrongType = await post({ ...example, 'home owner': 'yes' });
      assert.equal(wrongType.status, 400);
      assert.match((wrongType.json.error as { message: string }).message, /home owner must be true or false/);
    } finally {
      serve.child.kill('SIGINT');
      assert.equal((await serve.done).code, 130);
    }
  });

  it('refuses a config whose target is not in the CSV: exit 2, earlier artifacts kept', async () => {
    const before = await readFile(path.join(dir, 'artifacts/model.json'));
    const config = path.join(dir, 'pipeline.config.ts');
    const original = await readFile(config, 'utf8');
    await writeFile(config, original.replace('"target": "defaulted"', '"target": "default"'));
    try {
      const r = await runPipe(['model'], { cwd: dir });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /the training data or model settings were refused: .*target column 'default' not found/);
      assert.deepEqual(await readFile(path.join(dir, 'artifacts/model.json')), before);
    } finally {
      await writeFile(config, original);
    }
  });
});
