import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportDecisionsCsv } from '../../src/audit/decision-csv.js';
import type { DecisionLine } from '../../src/audit/decision-line.js';
import { UsageError, exitCodeOf } from '../../src/errors.js';
import { driftOf, ndcg, overallVerdict, VersionTally, type Baseline } from '../../src/monitor/drift.js';
import { binOf, psiOfShares } from '../../src/util/psi.js';
import { driftLines, driftMarkdown, verdictLine } from '../../src/monitor/report.js';
import { readTrailFile } from '../../src/monitor/trail-file.js';


/** A baseline as the model task records one: four score bins of a quarter each, two decisions. */
const BASELINE: Baseline = {
  rows: 400,
  refused: 0,
  of: 'validation rows (validation_index.csv)',
  score: { is: 'probability that Status is bad', edges: [0.2, 0.4, 0.6], shares: [0.25, 0.25, 0.25, 0.25] },
  decisions: { decline: 0.5, approve: 0.5 },
  missing: { 'Checking account': 0, 'Credit amount (DM)': 0, Savings: 0.2, Telephone: 0.9 },
  first_reason: { 'Checking account': 0.5, 'Credit amount (DM)': 0.3, Savings: 0.2 },
  no_reason: 0,
  mean_abs_shap: { 'Checking account': 0.6, 'Credit amount (DM)': 0.4, Savings: 0.2, Telephone: 0.05 },
  mean_abs_reason: { 'Checking account': 0.5, 'Credit amount (DM)': 0.3, Savings: 0.1, Telephone: 0 },
  reasons_per_decision: 2,
};

/** `n` decisions that look like the baseline: scores spread over its bins, reasons in its shares. */
function decisions(n: number, change: { score?: (i: number) => number; first?: (i: number) => string; missing?: (i: number) => string[] } = {}): DecisionLine[] {
  return Array.from({ length: n }, (_, i) => {
    const probability = change.score ? change.score(i) : [0.1, 0.3, 0.5, 0.7][i % 4]!;
    const first = change.first ? change.first(i) : i % 10 < 5 ? 'Checking account' : i % 10 < 8 ? 'Credit amount (DM)' : 'Savings';
    const second = first === 'Checking account' ? 'Credit amount (DM)' : 'Checking account';
    const contribution = first === 'Checking account' ? 0.9 : first === 'Credit amount (DM)' ? 0.7 : 0.5;
    return {
      pipe_audit: 1, time: `2026-12-0${1 + (i % 5)}T10:00:00.000Z`, request_id: `r-${i}`, model_version: 'abc123', task: 'binary',
      positive_class: 'bad', shap_output: 'log_odds', record: 0, output: { probability }, decision: probability >= 0.4 ? 'decline' : 'approve',
      reasons: [{ feature: first, contribution }, { feature: second, contribution: 0.05 }],
      missing: change.missing ? change.missing(i) : [...(i % 5 === 0 ? ['Savings'] : []), ...(i % 10 !== 0 ? ['Telephone'] : [])],
      input_sha256: 'ab'.repeat(32),
    };
  });
}

function tally(lines: DecisionLine[], baseline: Baseline | undefined = BASELINE): VersionTally {
  const t = new VersionTally('abc123', baseline);
  for (const d of lines) t.add(d);
  return t;
}

describe('drift measures', () => {
  it('PSI of counts against shares, as computed by hand', () => {
    const psi = psiOfShares([0.5, 0.5], [30, 70]);
    const byHand = (0.3 - 0.5) * Math.log(0.3 / 0.5) + (0.7 - 0.5) * Math.log(0.7 / 0.5);
    assert.ok(Math.abs(psi.value - byHand) < 1e-12, `${psi.value} vs ${byHand}`);
    assert.equal(psi.reading, 'watch');
    assert.equal(psiOfShares([0.25, 0.25, 0.25, 0.25], [25, 25, 25, 25]).value, 0);
    // An empty bin counts as 0.01%, not as a division by zero.
    assert.ok(Number.isFinite(psiOfShares([0.5, 0.5], [0, 10]).value));
  });

  it('NDCG of the ranking against the baseline attributions, as computed by hand', () => {
    const baseline = { a: 3, b: 2, c: 1 };
    const value = ndcg(['a', 'b', 'c'], baseline, { b: 5, a: 4, c: 0 });
    const dcg = 2 / Math.log2(2) + 3 / Math.log2(3) + 1 / Math.log2(4);
    const ideal = 3 / Math.log2(2) + 2 / Math.log2(3) + 1 / Math.log2(4);
    assert.ok(Math.abs(value - dcg / ideal) < 1e-12, `${value} vs ${dcg / ideal}`);
    assert.equal(ndcg(['a', 'b', 'c'], baseline, { a: 9, b: 1, c: 0.5 }), 1);
  });

  it('a score equal to an edge falls in the bin below, as the baseline counted it', () => {
    assert.deepEqual([0, 1, 2, 2.5, 3, 4].map((x) => binOf([1, 2, 3], x)), [0, 0, 1, 2, 2, 3]);
  });
});

describe('the verdict of a model version', () => {
  it('decisions like the baseline are stable', () => {
    const d = driftOf(tally(decisions(400)));
    assert.equal(d.verdict, 'stable', d.because.join('; '));
    assert.ok(d.score!.psi.value < 0.01);
    assert.ok(d.attribution!.ndcg > 0.99);
    assert.deepEqual(d.because, []);
    assert.deepEqual([d.period.from, d.period.to], ['2026-12-01T10:00:00.000Z', '2026-12-05T10:00:00.000Z']);
    const text = driftLines(d).join('\n');
    assert.match(text, /400 decision\(s\)/);
    assert.match(text, /score PSI 0\.0\d\d stable \(probability that Status is bad/);
    assert.match(text, /verdict: stable$/);
  });

  it('scores that moved up, with one feature now the first reason, are shifted and name that feature', () => {
    const d = driftOf(tally(decisions(400, { score: (i) => [0.5, 0.7, 0.7, 0.9][i % 4]!, first: (i) => (i % 10 < 7 ? 'Savings' : 'Checking account') })));
    assert.equal(d.verdict, 'shifted');
    assert.ok(d.score!.psi.value > 0.25);
    assert.equal(d.firstReasons![0]!.name, 'Savings');
    assert.match(d.because.join('; '), /score PSI \d\.\d{3}/);
    assert.match(d.because.join('; '), /Savings first in 70\.0% of decisions \(baseline 20\.0%, \+50\.0 points\)/);
    assert.match(driftMarkdown([d], 'trail.jsonl'), /\*\*verdict: shifted: /);
  });

  it('a feature that went missing far more often names that feature', () => {
    const d = driftOf(tally(decisions(400, { missing: (i) => (i % 2 ? ['Savings', 'Telephone'] : ['Telephone']) })));
    assert.equal(d.verdict, 'shifted');
    assert.equal(d.missing![0]!.name, 'Savings');
    assert.match(d.because.join('; '), /Savings missing in 50\.0% \(baseline 20\.0%\)/);
  });

  it('under a shifted verdict, a change only worth watching is said to be one', () => {
    // Savings missing 30 points more often (shifted), Telephone 7 points less (watch).
    const d = driftOf(tally(decisions(400, { missing: (i) => [...(i % 2 ? ['Savings'] : []), ...(i % 100 < 83 ? ['Telephone'] : [])] })));
    assert.equal(d.verdict, 'shifted');
    assert.deepEqual(d.because, ['Savings missing in 50.0% (baseline 20.0%)', 'watch: Telephone missing in 83.0% (baseline 90.0%)']);
    assert.match(verdictLine(d), /^verdict: shifted: Savings missing in 50\.0% \(baseline 20\.0%\); watch: Telephone missing in 83\.0%/);
  });

  it('too few decisions, or no baseline, give no verdict; the overall verdict is the worst of the rest', () => {
    const few = driftOf(tally(decisions(40)));
    assert.equal(few.verdict, 'too few');
    assert.match(few.because[0]!, /at least 100/);
    const none = driftOf(decisions(400).reduce((t, d) => (t.add(d), t), new VersionTally('abc123', undefined)));
    assert.equal(none.verdict, 'no baseline');
    assert.match(none.because[0]!, /--card/);
    const shifted = driftOf(tally(decisions(400, { score: () => 0.95 })));
    assert.equal(overallVerdict([few, none]), undefined);
    assert.equal(overallVerdict([few, driftOf(tally(decisions(400))), shifted]), 'shifted');
  });

  it('a regression\'s lines count predictions, not decisions', () => {
    const baseline: Baseline = { ...BASELINE, score: { is: 'predicted SalePrice', edges: [120000, 160000, 210000], shares: [0.25, 0.25, 0.25, 0.25] } };
    delete (baseline as { decisions?: unknown }).decisions;
    const prices = decisions(40).map(({ decision: _, ...line }, i) => ({ ...line, task: 'regression', output: { prediction: 100000 + 40000 * (i % 4) } }));
    const d = driftOf(tally(prices as DecisionLine[], baseline));
    assert.match(driftLines(d)[0]!, /: 40 prediction\(s\), /);
    assert.match(d.because[0]!, /^40 prediction\(s\): at least 100/);
    assert.match(driftMarkdown([d], 'a file'), /40 prediction\(s\)/);
    assert.doesNotMatch(driftLines(driftOf(tally(decisions(40))))[0]!, /prediction/);
  });

  it('lines that do not say which features were null say so, instead of reading as none missing', () => {
    const d = driftOf(tally(decisions(200).map(({ missing: _, ...rest }) => rest)));
    assert.equal(d.missing, undefined);
    assert.match(d.missingNote!, /does not say which features were null/);
  });
});

describe('reading a trail file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pipe-monitor-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const read = async (file: string) => {
    const got: DecisionLine[] = [];
    const result = await readTrailFile(file, (d) => got.push(d));
    return { got, result };
  };

  it('JSON lines with other log lines among them, and pipe audit\'s CSV, give the same decisions', async () => {
    const lines = decisions(30).map((d, i) => (i === 3 ? { ...d, reasons: [], decision: 'approve' } : { ...d, missing: i === 4 ? ['-odd name', 'Savings'] : d.missing }));
    const jsonl = path.join(dir, 'trail.jsonl');
    await writeFile(jsonl, ['START RequestId: 1 Version: $LATEST', ...lines.map((l) => JSON.stringify(l)), '', 'not json {'].join('\n'));
    const fromJson = await read(jsonl);
    assert.deepEqual(fromJson.result, { format: 'json lines', decisions: 30, skipped: 3 });
    assert.deepEqual(fromJson.got, lines);

    // The whole --json document of pipe logs --decisions --json, as saved from it.
    const document = path.join(dir, 'logs.json');
    await writeFile(document, `${JSON.stringify({ ok: true, exitCode: 0, tasks: [], output: lines.map((l) => JSON.stringify(l)) }, null, 2)}\n`);
    assert.deepEqual((await read(document)).got, lines);

    const csv = path.join(dir, 'audit.csv');
    await exportDecisionsCsv({ file: csv, force: false, fill: async (add) => { for (const l of lines) await add(l); } });
    const fromCsv = await read(csv);
    assert.equal(fromCsv.result.format, 'csv');
    // CSV has no types: a class label comes back as text, which pipe's labels are here.
    assert.deepEqual(fromCsv.got, lines);
  });

  it('refuses a file that is neither, and a missing file, as usage errors', async () => {
    const other = path.join(dir, 'other.csv');
    await writeFile(other, 'id,score\n1,0.5\n');
    await assert.rejects(read(other), (e: unknown) => e instanceof UsageError && exitCodeOf(e) === 2 && /no decision line/.test(e.message));
    await assert.rejects(read(path.join(dir, 'nope.jsonl')), (e: unknown) => e instanceof UsageError && e.code === 'TRAIL_NOT_FOUND');
  });
});
