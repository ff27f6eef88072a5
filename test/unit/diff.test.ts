import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareCards, type Card } from '../../src/diff/cards.js';
import { gateFailures } from '../../src/diff/run-diff.js';
import { diffMarkdown, diffText } from '../../src/diff/report.js';
import { compareScores, type ScoredRow } from '../../src/diff/scores.js';
import { psi, psiReading } from '../../src/util/psi.js';
import { backoffMs, retriable } from '../../src/runtime/score-remote.js';
import { formatNumber } from '../../src/reporter/format.js';

const card = (over: Partial<Card> = {}): Card => ({
  task: 'binary',
  target: 'Status',
  classes: ['bad', 'good'],
  positive_class: 'bad',
  features: [{ name: 'age', type: 'number' }, { name: 'Purpose', type: 'category', categories: ['car', 'education'] }],
  model: { estimator: 'lightgbm', params: { n_estimators: 100 } },
  metrics: { roc_auc: 0.71 },
  decision: { threshold: 0.5, positive: 'decline', negative: 'approve' },
  shap_output: 'log_odds',
  shap_output_meaning: 'log-odds that Status is bad',
  ...over,
});

async function* pairs(rows: [ScoredRow, ScoredRow][]): AsyncGenerator<[ScoredRow, ScoredRow]> {
  yield* rows;
}

const answer = (row: number, probability: number, reason: string, shap: Record<string, number>): ScoredRow =>
  ({ row, probability, decision: probability >= 0.5 ? 'decline' : 'approve', shap, reasons: [{ feature: reason }] });

describe('pipe diff: cards', () => {
  it('names what changed, section by section, and nothing when the cards agree', () => {
    assert.deepEqual(compareCards(card(), card()), []);
    const changes = compareCards(card(), card({
      features: [{ name: 'age', type: 'category' }, { name: 'Purpose', type: 'category', categories: ['car', 'business'] }, { name: 'income', type: 'number' }],
      model: { estimator: 'xgboost', params: { n_estimators: 100, max_depth: 4 } },
      positive_class: 'good',
      decision: { threshold: 0.4, positive: 'decline', negative: 'approve' },
    }));
    const said = changes.map((c) => `${c.section}: ${c.what}: ${c.old} -> ${c.new}`);
    assert.deepEqual(said, [
      'task: positive class: bad -> good',
      'features: income added: - -> number',
      'features: age type: number -> category',
      'categories: Purpose categories added: - -> business',
      'categories: Purpose categories removed: education -> -',
      'model: estimator: lightgbm -> xgboost',
      'model: hyperparameter max_depth: - -> 4',
      'decision: threshold: 0.5 -> 0.4',
    ]);
  });

  it("writes a price model's metrics in its target's unit, as pipe writes numbers, with the digits that tell them apart", () => {
    const prices = (metrics: Record<string, number>) => card({ task: 'regression', target: 'Sale price ($)', classes: undefined, positive_class: undefined, decision: undefined, metrics });
    const changes = compareCards(prices({ rmse: 39320.80089814237, mae: 4062.2, r2: 0.8887478609893446, validation_rows: 500 }),
      prices({ rmse: 39323.66904146073, mae: 4062.4, r2: 0.8887316304594818, validation_rows: 500 }));
    assert.deepEqual(changes.map((c) => `${c.what}: ${c.old} -> ${c.new}`), [
      'mae (in Sale price ($)): 4062.2 -> 4062.4',
      'r2: 0.88875 -> 0.88873',
      'rmse (in Sale price ($)): 39,321 -> 39,324',
    ]);
  });
});

describe('formatNumber', () => {
  it('writes numbers as the reasons and the what-if page do', () => {
    assert.deepEqual([0.15420345, 31, 999.5, 1000, 1966, -1250.6, 9999.6, 12500.4, 215000, -12480.6].map((x) => formatNumber(x)),
      ['0.1542', '31', '999.5', '1000', '1966', '-1251', '10,000', '12,500', '215,000', '-12,481']);
  });
});

describe('pipe diff: scores', () => {
  it('PSI is zero for the same scores, and reads as credit teams read it', () => {
    const scores = Float64Array.from({ length: 1000 }, (_, i) => i / 1000);
    assert.ok(Math.abs(psi(scores, scores).value) < 1e-12);
    const shifted = psi(scores, Float64Array.from(scores, (x) => Math.min(1, x + 0.3)));
    assert.equal(shifted.reading, 'shifted');
    assert.deepEqual([0.05, 0.1, 0.25, 0.26].map(psiReading), ['stable', 'watch', 'watch', 'shifted']);
    // Computed by hand: two bins (ties merge the deciles), 50/50 old against 80/20 new.
    const old = Float64Array.from([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    const now = Float64Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
    const expected = (0.8 - 0.5) * Math.log(0.8 / 0.5) + (0.2 - 0.5) * Math.log(0.2 / 0.5);
    assert.ok(Math.abs(psi(old, now).value - expected) < 1e-12);
  });

  it('counts flips each way, rates, |change| and first reasons; refused rows are left out and counted', async () => {
    const rows: [ScoredRow, ScoredRow][] = [
      [answer(1, 0.2, 'age', { age: 0.5, Purpose: -0.1 }), answer(1, 0.7, 'Purpose', { age: 0.1, Purpose: 0.9 })],
      [answer(2, 0.6, 'age', { age: 0.3, Purpose: 0.1 }), answer(2, 0.4, 'age', { age: -0.3, Purpose: 0.1 })],
      [answer(3, 0.1, 'age', { age: -0.5, Purpose: 0.3 }), answer(3, 0.1, 'age', { age: -0.5, Purpose: 0.3 })],
      [answer(4, 0.9, 'Purpose', { age: 0.1, Purpose: 0.5 }), { row: 4, error: { message: 'Purpose has the unknown category "x"' } }],
    ];
    const diff = await compareScores(card(), card(), pairs(rows), { show: 2 });
    assert.equal(diff.rows, 4);
    assert.equal(diff.compared, 3);
    assert.deepEqual(diff.refused, { old: 0, new: 1 });
    assert.deepEqual(diff.flips, [{ from: 'approve', to: 'decline', count: 1 }, { from: 'decline', to: 'approve', count: 1 }]);
    assert.equal(diff.agreement, 1 / 3);
    assert.deepEqual(diff.rates, [{ outcome: 'decline', old: 1 / 3, new: 1 / 3 }, { outcome: 'approve', old: 2 / 3, new: 2 / 3 }]);
    assert.ok(Math.abs(diff.change.mean - (0.5 + 0.2 + 0) / 3) < 1e-12);
    assert.ok(Math.abs(diff.change.max - 0.5) < 1e-12);
    assert.equal(diff.firstReasonSame, 2 / 3);
    assert.deepEqual(diff.meanAbsShap.map((f) => [f.feature, Number(f.old!.toFixed(6)), Number(f.new!.toFixed(6))]), [
      ['age', 0.433333, 0.3],
      ['Purpose', 0.166667, 0.433333],
    ]);
    assert.deepEqual(diff.largest.map((r) => r.row), [1, 2]);
    assert.equal(diff.scoreIs, 'probability that Status is bad');
    const text = diffText({ old: { label: 'live (version 3)' }, new: { label: 'local' }, card: [], table: { source: 'data.csv', rows: 4 }, scores: diff });
    assert.match(text, /approve -> decline +1 \(33\.3%\)/);
    assert.match(text, /decline rate +33\.3% -> 33\.3% \(\+0\.0 pt\)/);
    assert.match(text, /mean \|SHAP\| per feature \(log-odds that Status is bad\)/);
    assert.match(diffMarkdown({ old: { label: 'live' }, new: { label: 'local' }, card: [], table: { source: 'data.csv', rows: 4 }, scores: diff }), /\| decision agreement \| 33\.3% of 3 rows \|/);
  });

  it('an old model of the other positive class is compared as 1 - p, and says so', async () => {
    const rows: [ScoredRow, ScoredRow][] = [[{ row: 1, probability: 0.7, decision: 'approve', shap: {}, reasons: [] }, answer(1, 0.3, 'age', {})]];
    const diff = await compareScores(card({ positive_class: 'good' }), card(), pairs(rows), { show: 0 });
    assert.ok(diff.change.max < 1e-12);
    assert.match(diff.notes.join(' '), /old model's probability is of good: compared as 1 - p/);
  });

  it('the gate says which limit the diff exceeds, with its numbers', async () => {
    const rows: [ScoredRow, ScoredRow][] = [[answer(1, 0.2, 'age', {}), answer(1, 0.8, 'age', {})], [answer(2, 0.2, 'age', {}), answer(2, 0.2, 'age', {})]];
    const scores = await compareScores(card(), card(), pairs(rows), { show: 0 });
    const report = { old: { label: 'live' }, new: { label: 'local' }, card: [], scores, table: { source: 'x', rows: 2 } };
    assert.deepEqual(gateFailures(report, { maxFlipRate: 0.5 }), []);
    assert.deepEqual(gateFailures(report, { maxFlipRate: 0.1 }), ['50.00% of 2 decisions flip (1 approve -> decline); release.gate.maxFlipRate is 10.00%']);
    assert.deepEqual(gateFailures({ ...report, scores: undefined, notCompared: 'the task changed' }, { maxScorePsi: 0.2 }), ['the scores cannot be compared: the task changed']);
  });
});

describe('pipe score: retries', () => {
  it('waits what Retry-After says, else a jittered doubling up to the cap; retries throttling and 5xx only', () => {
    const policy = { attempts: 5, baseMs: 100, maxMs: 1000 };
    assert.equal(backoffMs(1, policy, '2'), 1000, 'capped');
    assert.equal(backoffMs(3, policy, '0.25'), 250);
    assert.equal(backoffMs(1, policy, null, () => 0.999), 99);
    assert.equal(backoffMs(3, policy, null, () => 0.999), 399);
    assert.equal(backoffMs(9, policy, 'soon', () => 0.5), 500);
    assert.deepEqual([0, 429, 500, 503, 400, 403, 413].map(retriable), [true, true, true, true, false, false, false]);
  });
});
