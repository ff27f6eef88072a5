import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import yauzl from 'yauzl';
import { runPipe, startPipe, until } from '../support/cli.js';
import { CREDIT_MODEL, creditCsv } from '../support/credit-table.js';
import { makeExampleProject } from '../support/example-project.js';
import { type BinaryPrediction, sumShap } from '../support/predictions.js';

/**
 * A German-credit-style table through the real CLI, as a lender configures it: the target `Status`
 * is good/bad, the categories are spelled-out words, one column is almost empty. The positive class
 * must be named; the SHAP values are measured against applicants approved just below the cutoff, in
 * probability points; the reference rows never leave the project.
 */

function zipEntries(file: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const names: string[] = [];
      zip.on('entry', (e: yauzl.Entry) => { names.push(e.fileName); zip.readEntry(); });
      zip.on('end', () => resolve(names));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

interface Card {
  positive_class: string;
  classes: string[];
  shap_output: string;
  shap_output_meaning: string;
  example_request: Record<string, unknown>;
  reference: { from: string; rows: number; threshold: number; side: string; description: string; sha256: string };
  explainer: { method: string; measured_against: string; verified_against: string };
  metrics: Record<string, number>;
}

describe('a good/bad credit table explained against approvals near the cutoff, through the CLI', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const model = {
    ...CREDIT_MODEL,
    reference: { from: 'near-cutoff', size: 60 },
    shapOutput: 'probability',
  };
  const config = (extra: Record<string, unknown>) => ({
    app: 'credit-reference', runtime: 'python3.11', runner: 'local', buildEnv: { PIP_RETRIES: '0' }, model: { ...model, ...extra },
  });

  before(async () => {
    ({ dir, cleanup } = await makeExampleProject(config({}), { sharedEnv: true }));
    await mkdir(path.join(dir, 'data'));
    await writeFile(path.join(dir, 'data/german credit.csv'), creditCsv(1200));
  });
  after(() => cleanup());

  it('refuses to guess which of good and bad the probability is of: exit 2, naming both and the key', async () => {
    const r = await runPipe(['model'], { cwd: dir });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /the target's classes are 'bad' and 'good': set model\.positiveClass/);
  });

  it('trains with positiveClass bad: probability, decision and reasons of bad, measured against the near-cutoff rows', async () => {
    await writeFile(path.join(dir, 'pipeline.config.ts'), `export default ${JSON.stringify(config({ positiveClass: 'bad' }), null, 2)};\n`);
    const built = await runPipe(['package'], { cwd: dir });
    assert.equal(built.code, 0, built.stdout + built.stderr);
    assert.match(built.stdout, /SHAP values measured against .*training rows scored .*below the 35% cutoff \(approve\)/);
    const card = JSON.parse(await readFile(path.join(dir, 'artifacts/model_card.json'), 'utf8')) as Card;
    assert.equal(card.positive_class, 'bad');
    assert.deepEqual(card.classes, ['bad', 'good']);
    assert.equal(card.shap_output, 'probability');
    assert.equal(card.shap_output_meaning, 'probability that Status is bad');
    assert.deepEqual([card.reference.from, card.reference.rows, card.reference.threshold, card.reference.side], ['near-cutoff', 60, 0.35, 'negative']);
    assert.equal(card.explainer.measured_against, card.reference.description);
    assert.match(card.explainer.method, /interventional/);
    assert.match(card.explainer.verified_against, /direct interventional Shapley values/, 'shap does not read categorical splits');
    assert.ok(card.metrics.roc_auc! > 0.6, `AUC of P(bad) against Status == bad: ${card.metrics.roc_auc}`);

    // The rows stay in the project: in model.json and reference.csv, never in the card or the function's other files.
    const reference = await readFile(path.join(dir, 'artifacts/reference.csv'));
    assert.equal(reference.toString().split('\n').filter(Boolean).length, 61);
    assert.doesNotMatch(JSON.stringify(card), /Application No\.|"rows":\[/);
    const entries = await zipEntries(path.join(dir, 'build/package/function.zip'));
    assert.ok(entries.includes('artifacts/model.json'), entries.join(', '));
    assert.ok(!entries.some((e) => e.endsWith('reference.csv')), entries.join(', '));

    const serve = startPipe(['serve', '--port', '0'], { cwd: dir });
    let stdout = '';
    serve.child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    try {
      await until(() => /http:\/\/127\.0\.0\.1:\d+/.test(stdout), 60_000, 'the served URL');
      const url = /http:\/\/127\.0\.0\.1:\d+/.exec(stdout)![0];
      const example = card.example_request;
      const records = [example, { ...example, 'Checking account': '< 0 DM', 'Duration (months)': 48, Savings: null },
        { ...example, 'Checking account': 'no checking account', 'Age (years)': 60 }];
      const res = await fetch(new URL('/predict', url), { method: 'POST', body: JSON.stringify(records) });
      const answer = (await res.json()) as { shap_output: string; predictions: BinaryPrediction[] };
      assert.equal(res.status, 200, JSON.stringify(answer));
      assert.equal(answer.shap_output, 'probability');
      for (const p of answer.predictions) {
        assert.ok(Math.abs(p.base_value + sumShap(p.shap) - p.probability) < 1e-12, 'base + sum(shap) = P(bad)');
        assert.equal(p.decision, p.probability >= 0.35 ? 'decline' : 'approve');
        for (const reason of p.reasons) {
          assert.match(reason.text, new RegExp(`(raised|lowered) the probability that Status is bad by ${(Math.abs(reason.contribution) * 100).toFixed(1)} points$`));
        }
      }
      assert.ok(answer.predictions[1]!.probability > answer.predictions[2]!.probability, 'an overdrawn account on a long loan is riskier');
      const served = (await (await fetch(url, { headers: { accept: 'application/json' } })).json()) as Card;
      assert.deepEqual(served.reference, card.reference);
    } finally {
      serve.child.kill('SIGINT');
      assert.equal((await serve.done).code, 130);
    }
  });

  it('a changed reference file retrains the model', async () => {
    await writeFile(path.join(dir, 'data/prototypes.csv'), creditCsv(12));
    const withFile = config({ positiveClass: 'bad', reference: { from: 'file', file: 'data/prototypes.csv' } });
    await writeFile(path.join(dir, 'pipeline.config.ts'), `export default ${JSON.stringify(withFile, null, 2)};\n`);
    const first = await runPipe(['model'], { cwd: dir });
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const card = JSON.parse(await readFile(path.join(dir, 'artifacts/model_card.json'), 'utf8')) as Card;
    assert.equal(card.reference.description, 'the 12 rows of prototypes.csv');
    const unchanged = await runPipe(['model', '--dry-run'], { cwd: dir });
    assert.match(unchanged.stdout, /model +skip/, unchanged.stdout);
    await writeFile(path.join(dir, 'data/prototypes.csv'), creditCsv(13));
    const changed = await runPipe(['model', '--dry-run'], { cwd: dir });
    assert.match(changed.stdout, /model +run .*data\/prototypes\.csv/, changed.stdout);
  });
});
