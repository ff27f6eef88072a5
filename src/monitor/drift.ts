/**
 * Drift of a model's decisions against the baseline its card records (python/pipe_export/baseline.py):
 * the decision trail of one model version tallied line by line, then compared.
 *
 * - score PSI: the trail's scores in the baseline's decile bins (a multiclass model: its predicted labels);
 * - the decision rate, each feature's missing rate and how often each feature is the first reason,
 *   against the baseline's;
 * - the NDCG of the features ranked by mean |contribution| against the baseline's ranking (SageMaker Model
 *   Monitor's measure of attribution drift). A trail line holds the reasons' contributions only, so both
 *   sides count a feature's contribution only where it is a reason.
 */
import type { DecisionLine } from '../audit/decision-line.js';
import { binCounts, psiOfShares, type Psi } from '../util/psi.js';

/** The card's `baseline`. */
export interface Baseline {
  rows: number;
  refused: number;
  of: string;
  score: { is: string; edges?: number[]; shares?: number[]; labels?: Record<string, number> };
  decisions?: Record<string, number>;
  missing: Record<string, number>;
  first_reason: Record<string, number>;
  no_reason: number;
  mean_abs_shap: Record<string, number>;
  mean_abs_reason: Record<string, number>;
  reasons_per_decision: number;
}

export type Reading = 'stable' | 'watch' | 'shifted';
export type Verdict = Reading | 'too few' | 'no baseline';

/** Fewer decisions than this give no verdict: a PSI of a few dozen scores is noise. */
export const MIN_DECISIONS = 100;
/** A share (decision, missing, first reason) that moved by this many points or more: watch, then shifted. */
export const SHARE_WATCH = 0.05;
export const SHARE_SHIFTED = 0.1;
/** NDCG of the attribution ranking: below 0.9 shifted (SageMaker Model Monitor's alert), below 0.95 watch. */
export const NDCG_SHIFTED = 0.9;
export const NDCG_WATCH = 0.95;

/**
 * NDCG of the ranking `now` (feature -> mean |contribution|, highest first) against the baseline's
 * attributions: DCG = sum over positions i (from 1) of baseline(feature at i) / log2(i + 1), divided by the
 * DCG of the baseline's own ranking. Equal values keep the features' order in `features`.
 */
export function ndcg(features: readonly string[], baseline: Readonly<Record<string, number>>, now: Readonly<Record<string, number>>): number {
  const ranked = (by: Readonly<Record<string, number>>) =>
    features.map((f, i) => ({ f, i, v: by[f] ?? 0 })).sort((a, b) => b.v - a.v || a.i - b.i).map((x) => x.f);
  const dcg = (order: string[]) => order.reduce((sum, f, i) => sum + (baseline[f] ?? 0) / Math.log2(i + 2), 0);
  const ideal = dcg(ranked(baseline));
  return ideal > 0 ? dcg(ranked(now)) / ideal : 1;
}

/** What the trail says of one model version, gathered line by line. */
export class VersionTally {
  records = 0;
  first = '';
  last = '';
  /** Per decision label (a multiclass model's: its predicted label). */
  readonly decisions = new Map<string, number>();
  /** Each decision's score (probability or prediction), binned once the baseline is known. */
  readonly scores: number[] = [];
  /** Lines that say which features were null (lines written before they did, do not). */
  missingKnown = 0;
  readonly missing = new Map<string, number>();
  readonly firstReason = new Map<string, number>();
  noReason = 0;
  readonly reasonSum = new Map<string, number>();
  task: DecisionLine['task'] | undefined;

  /**
   * The baseline may be found after the trail was read (a deployed version's card); `baselineFrom` says
   * where it was found (a card's path, a Lambda version).
   */
  constructor(readonly modelVersion: string, public baseline: Baseline | undefined, public baselineFrom?: string) {}

  add(d: DecisionLine): void {
    this.records += 1;
    if (!this.first || d.time < this.first) this.first = d.time;
    if (!this.last || d.time > this.last) this.last = d.time;
    this.task ??= d.task;
    if (d.decision !== null) bump(this.decisions, d.decision);
    const score = d.output.probability ?? d.output.prediction;
    if (score !== undefined) this.scores.push(score);
    const missing = d.missing ?? (d.values ? Object.keys(d.values).filter((k) => d.values![k] === null) : undefined);
    if (missing) {
      this.missingKnown += 1;
      for (const f of missing) bump(this.missing, f);
    }
    if (d.reasons.length === 0) this.noReason += 1;
    else bump(this.firstReason, d.reasons[0]!.feature);
    for (const r of d.reasons) this.reasonSum.set(r.feature, (this.reasonSum.get(r.feature) ?? 0) + Math.abs(r.contribution));
  }
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

export interface ShareChange {
  name: string;
  baseline: number;
  now: number;
  /** now - baseline, in shares (0.05 = 5 points). */
  change: number;
}

export interface VersionDrift {
  modelVersion: string;
  records: number;
  period: { from: string; to: string };
  task?: string;
  verdict: Verdict;
  /** Why the verdict is what it is, one phrase each, worst first. */
  because: string[];
  /** What the baseline is, or why there is none. */
  baselineOf: string;
  /** Rows the baseline was measured on. */
  baselineRows?: number;
  decisionRates?: ShareChange[];
  score?: { is: string; psi: Psi; bins: { range: string; baseline: number; now: number }[] };
  missing?: ShareChange[];
  missingNote?: string;
  firstReasons?: ShareChange[];
  firstReasonPsi?: Psi;
  attribution?: { ndcg: number; reading: Reading; note: string; now: Record<string, number> };
}

/** A change of a share in points ("+2.5 points"; a change that rounds to nothing has no sign). */
export const points = (x: number): string => {
  const rounded = Number((x * 100).toFixed(1));
  return rounded === 0 ? '0.0 points' : `${rounded > 0 ? '+' : ''}${rounded.toFixed(1)} points`;
};
export const share = (x: number): string => `${(x * 100).toFixed(1)}%`;
const worst = (a: Reading, b: Reading): Reading => (a === 'shifted' || b === 'shifted' ? 'shifted' : a === 'watch' || b === 'watch' ? 'watch' : 'stable');
const shareReading = (change: number): Reading => (Math.abs(change) >= SHARE_SHIFTED ? 'shifted' : Math.abs(change) >= SHARE_WATCH ? 'watch' : 'stable');

function changes(baseline: Readonly<Record<string, number>>, counts: ReadonlyMap<string, number>, n: number, names?: readonly string[]): ShareChange[] {
  const keys = names ?? [...new Set([...Object.keys(baseline), ...counts.keys()])];
  return keys
    .map((name) => {
      const now = (counts.get(name) ?? 0) / n;
      const was = baseline[name] ?? 0;
      return { name, baseline: was, now, change: now - was };
    })
    .sort((a, b) => Math.abs(b.change) - Math.abs(a.change) || a.name.localeCompare(b.name));
}

function rangeLabels(edges: readonly number[]): string[] {
  const f = (x: number) => Number(x.toPrecision(3)).toString();
  return Array.from({ length: edges.length + 1 }, (_, k) => (k === 0 ? `<= ${f(edges[0]!)}` : k === edges.length ? `> ${f(edges[k - 1]!)}` : `${f(edges[k - 1]!)}-${f(edges[k]!)}`));
}

/** What a version's records are: a regression predicts values, the other tasks decide. */
export function recordsText(count: number, task: string | undefined): string {
  return `${count} ${task === 'regression' ? 'prediction(s)' : 'decision(s)'}`;
}

/** The comparison of one version's tally with its baseline, and the verdict. */
export function driftOf(t: VersionTally): VersionDrift {
  const base: VersionDrift = {
    modelVersion: t.modelVersion, records: t.records, period: { from: t.first, to: t.last }, task: t.task,
    verdict: 'no baseline', because: [], baselineOf: '',
  };
  const b = t.baseline;
  if (!b && t.baselineFrom) {
    // A card written before pipe recorded baselines.
    base.baselineOf = `${t.baselineFrom} has no baseline (a model card written before pipe recorded one)`;
    base.because.push('its model card has no baseline: build the model again (`npx pipe model`) to record one');
    return base;
  }
  if (!b) {
    base.baselineOf = `no model card of version ${t.modelVersion} was found`;
    base.because.push(`no baseline for model version ${t.modelVersion}: pass its model card with --card FILE (GET / of the function answers it)`);
    return base;
  }
  base.baselineOf = `${b.rows} ${b.of}${t.baselineFrom ? `, from ${t.baselineFrom}` : ''}`;
  base.baselineRows = b.rows;
  const n = t.records;
  const readings: { reading: Reading; phrase: string }[] = [];

  if (b.decisions) {
    base.decisionRates = changes(b.decisions, t.decisions, n);
    for (const c of base.decisionRates) {
      const reading = shareReading(c.change);
      const what = t.task === 'multiclass' ? 'predicted label' : 'decision';
      if (reading !== 'stable') readings.push({ reading, phrase: `${what} "${c.name}" ${share(c.now)} of decisions (baseline ${share(c.baseline)})` });
    }
  }
  if (b.score.edges && b.score.shares) {
    const bins = binCounts(b.score.edges, t.scores);
    const psi = psiOfShares(b.score.shares, bins);
    const labels = rangeLabels(b.score.edges);
    base.score = { is: b.score.is, psi, bins: b.score.shares.map((s, k) => ({ range: labels[k]!, baseline: s, now: bins[k]! / n })) };
    readings.push({ reading: psi.reading, phrase: `score PSI ${psi.value.toFixed(3)} (${b.score.is}, baseline deciles)` });
  } else if (b.score.labels) {
    const labels = b.score.labels;
    const keys = [...new Set([...Object.keys(labels), ...t.decisions.keys()])].sort();
    const psi = psiOfShares(keys.map((k) => labels[k] ?? 0), keys.map((k) => t.decisions.get(k) ?? 0));
    base.score = { is: b.score.is, psi, bins: keys.map((k) => ({ range: k, baseline: labels[k] ?? 0, now: (t.decisions.get(k) ?? 0) / n })) };
    readings.push({ reading: psi.reading, phrase: `PSI of the predicted label ${psi.value.toFixed(3)}` });
  }

  const features = Object.keys(b.mean_abs_shap);
  if (t.missingKnown > 0) {
    base.missing = changes(b.missing, t.missing, t.missingKnown, features);
    if (t.missingKnown < n) base.missingNote = `${t.missingKnown} of ${n} decisions say which features were null (older lines do not)`;
    for (const c of base.missing) {
      const reading = shareReading(c.change);
      if (reading !== 'stable') readings.push({ reading, phrase: `${c.name} missing in ${share(c.now)} (baseline ${share(c.baseline)})` });
    }
  } else {
    base.missingNote = 'the trail does not say which features were null (lines written before it did)';
  }

  const firstCounts = new Map(t.firstReason);
  firstCounts.set('(no reason)', t.noReason);
  base.firstReasons = changes({ ...b.first_reason, '(no reason)': b.no_reason }, firstCounts, n);
  base.firstReasonPsi = psiOfShares(base.firstReasons.map((c) => c.baseline), base.firstReasons.map((c) => firstCounts.get(c.name) ?? 0));
  if (base.firstReasonPsi.reading !== 'stable') {
    // The feature that became the first reason more often than any other (what moved the decisions),
    // and the one that did so less often than any other.
    const rose = base.firstReasons.filter((c) => c.change > 0).sort((x, y) => y.change - x.change)[0];
    const fell = base.firstReasons.filter((c) => c.change < 0).sort((x, y) => x.change - y.change)[0];
    const named = [rose, fell].filter((c): c is ShareChange => c !== undefined).map((c) => `${c.name} first in ${share(c.now)} of decisions (baseline ${share(c.baseline)}, ${points(c.change)})`);
    readings.push({ reading: base.firstReasonPsi.reading, phrase: `first reasons PSI ${base.firstReasonPsi.value.toFixed(3)}: ${named.join(', ')}` });
  }

  const now = Object.fromEntries(features.map((f) => [f, (t.reasonSum.get(f) ?? 0) / n]));
  const value = ndcg(features, b.mean_abs_reason, now);
  const reading: Reading = value < NDCG_SHIFTED ? 'shifted' : value < NDCG_WATCH ? 'watch' : 'stable';
  base.attribution = {
    ndcg: value, reading, now,
    note: `a decision line holds its reasons' contributions only (up to ${b.reasons_per_decision}); the baseline counts the same on its rows`,
  };
  if (reading !== 'stable') {
    const risen = features.map((f) => ({ f, d: now[f]! - (b.mean_abs_reason[f] ?? 0) })).sort((x, y) => Math.abs(y.d) - Math.abs(x.d))[0];
    readings.push({ reading, phrase: `attribution ranking NDCG ${value.toFixed(3)}${risen ? ` (${risen.f} moved most)` : ''}` });
  }

  if (n < MIN_DECISIONS) {
    base.verdict = 'too few';
    base.because.push(`${recordsText(n, t.task)}: at least ${MIN_DECISIONS} are needed for a verdict`);
    return base;
  }
  const order: Record<Reading, number> = { shifted: 0, watch: 1, stable: 2 };
  const flagged = readings.filter((r) => r.reading !== 'stable').sort((x, y) => order[x.reading] - order[y.reading]);
  base.verdict = flagged.reduce<Reading>((v, r) => worst(v, r.reading), 'stable');
  // Under a shifted verdict, what is only worth watching says so.
  base.because = flagged.map((r) => (r.reading === base.verdict ? r.phrase : `${r.reading}: ${r.phrase}`));
  return base;
}

/** The worst verdict of several versions' (those without one do not count). */
export function overallVerdict(drifts: readonly VersionDrift[]): Reading | undefined {
  const judged = drifts.filter((d) => d.verdict === 'stable' || d.verdict === 'watch' || d.verdict === 'shifted');
  return judged.length ? judged.reduce<Reading>((v, d) => worst(v, d.verdict as Reading), 'stable') : undefined;
}
