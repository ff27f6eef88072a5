import { categoricalPsi, psi, quantile, type Psi } from '../util/psi.js';
import type { Card } from './cards.js';

/** One row of a `pipe score` JSON-lines output: the function's answer (or its error) and the kept columns. */
export interface ScoredRow {
  row: number;
  pipe_row?: string;
  probability?: number;
  probabilities?: Record<string, number>;
  prediction?: number;
  decision?: string;
  label?: string;
  shap?: Record<string, number> | Record<string, Record<string, number>>;
  reasons?: { feature: string }[];
  error?: { message: string };
}

/** How a score reads: what is compared, in which unit. */
interface Reading {
  /** The number per row both models give: the probability of the positive class, or the value. */
  score(row: ScoredRow, side: 'old' | 'new'): number;
  /** The outcome per row (a decision or a label), when the task has one. */
  outcome?(row: ScoredRow): string;
  /** What the score is, for people: "probability that Status is bad". */
  scoreIs: string;
  outcomeIs?: string;
}

export interface Flip {
  from: string;
  to: string;
  count: number;
}

export interface LargestChange {
  /** The row in the scored table (1-based, after the header). */
  row: number;
  old: number;
  new: number;
  oldOutcome?: string;
  newOutcome?: string;
  oldReason?: string;
  newReason?: string;
}


export interface ScoreDiff {
  /** Rows in the table, rows both models answered, and rows each refused. */
  rows: number;
  compared: number;
  refused: { old: number; new: number };
  /** What the score and the outcome are. */
  scoreIs: string;
  outcomeIs?: string;
  /** Share of compared rows whose outcome is the same, and the changes each way. */
  agreement?: number;
  flips?: Flip[];
  flipRate?: number;
  /** Share of each outcome, old and new (the decision rate: the share of the positive decision). */
  rates?: { outcome: string; old: number; new: number }[];
  psi?: Psi;
  /** |new score - old score| per row: its mean, 99th percentile and largest. */
  change: { mean: number; p99: number; max: number };
  /** Share of rows whose first reason names the same feature. */
  firstReasonSame: number;
  /** Mean |SHAP| per feature; undefined where a model does not have the feature. */
  meanAbsShap: { feature: string; old?: number; new?: number }[];
  shapIs: { old: string; new: string };
  largest: LargestChange[];
  /** Why some numbers are not comparable, or how they were made so. */
  notes: string[];
}

/** Why two models' scores cannot be compared row by row, or undefined when they can. */
export function incomparable(old: Card, now: Card): string | undefined {
  if (old.task !== now.task) return `the task changed (${old.task} -> ${now.task}): scores mean different things`;
  if (old.task !== 'regression' && JSON.stringify([...(old.classes ?? [])].map(String).sort()) !== JSON.stringify([...(now.classes ?? [])].map(String).sort())) {
    return `the classes changed (${JSON.stringify(old.classes)} -> ${JSON.stringify(now.classes)}): probabilities are of different classes`;
  }
  return undefined;
}

function reading(old: Card, now: Card, notes: string[]): Reading {
  const target = now.target ?? 'the target';
  if (now.task === 'binary') {
    const positive = String(now.positive_class);
    // An old model whose positive class was the other one: its probability of the new one is 1 - p.
    const flipped = String(old.positive_class) !== positive;
    if (flipped) notes.push(`the old model's probability is of ${String(old.positive_class)}: compared as 1 - p, the probability of ${positive}`);
    const score = (row: ScoredRow, side: 'old' | 'new') => (side === 'old' && flipped ? 1 - row.probability! : row.probability!);
    const scoreIs = `probability that ${target} is ${positive}`;
    // Without a decision (no threshold configured) there is only the probability to compare.
    return now.decision ? { score, scoreIs, outcome: (row) => String(row.decision), outcomeIs: 'decision' } : { score, scoreIs };
  }
  if (now.task === 'multiclass') {
    return {
      // The largest change of any class's probability: max_c |p_new(c) - p_old(c)| is what the change reports.
      score: () => Number.NaN,
      outcome: (row) => String(row.label),
      scoreIs: `probability of each class of ${target} (the largest change among them)`,
      outcomeIs: 'label',
    };
  }
  return { score: (row) => row.prediction!, scoreIs: `predicted ${target}` };
}

/** |SHAP| per feature summed over a row (over every class for multiclass). */
function addAbsShap(sums: Map<string, number>, shap: ScoredRow['shap']): void {
  for (const [key, value] of Object.entries(shap ?? {})) {
    if (typeof value === 'number') sums.set(key, (sums.get(key) ?? 0) + Math.abs(value));
    else for (const [feature, v] of Object.entries(value as Record<string, number>)) sums.set(feature, (sums.get(feature) ?? 0) + Math.abs(v));
  }
}


/**
 * Compares two scorings of the same table, row by row: `pairs` yields each row's old and new answer, in
 * order. Rows either model refused are counted and left out of the comparison.
 */
export async function compareScores(old: Card, now: Card, pairs: AsyncIterable<[ScoredRow, ScoredRow]>, options: { show: number }): Promise<ScoreDiff> {
  const notes: string[] = [];
  const read = reading(old, now, notes);
  const multiclass = now.task === 'multiclass';
  const classes = (now.classes ?? []).map(String);
  const oldScores: number[] = [];
  const newScores: number[] = [];
  const changes: number[] = [];
  const flips = new Map<string, Flip>();
  const oldOutcomes = new Map<string, number>();
  const newOutcomes = new Map<string, number>();
  const oldShap = new Map<string, number>();
  const newShap = new Map<string, number>();
  const largest: LargestChange[] = [];
  let rows = 0;
  let refusedOld = 0;
  let refusedNew = 0;
  let same = 0;
  let sameReason = 0;
  for await (const [a, b] of pairs) {
    rows += 1;
    if (a.row !== b.row) throw new Error(`the two scorings are out of step at row ${a.row} / ${b.row}`);
    if (a.error || b.error) {
      if (a.error) refusedOld += 1;
      if (b.error) refusedNew += 1;
      continue;
    }
    let delta: number;
    let x: number;
    let y: number;
    if (multiclass) {
      delta = Math.max(...classes.map((c) => Math.abs((b.probabilities![c] ?? 0) - (a.probabilities![c] ?? 0))));
      x = Number.NaN;
      y = Number.NaN;
    } else {
      x = read.score(a, 'old');
      y = read.score(b, 'new');
      delta = Math.abs(y - x);
      oldScores.push(x);
      newScores.push(y);
    }
    changes.push(delta);
    let oldOutcome: string | undefined;
    let newOutcome: string | undefined;
    if (read.outcome) {
      oldOutcome = read.outcome(a);
      newOutcome = read.outcome(b);
      oldOutcomes.set(oldOutcome, (oldOutcomes.get(oldOutcome) ?? 0) + 1);
      newOutcomes.set(newOutcome, (newOutcomes.get(newOutcome) ?? 0) + 1);
      if (oldOutcome === newOutcome) same += 1;
      else {
        const key = `${oldOutcome}\u0000${newOutcome}`;
        const flip = flips.get(key) ?? { from: oldOutcome, to: newOutcome, count: 0 };
        flip.count += 1;
        flips.set(key, flip);
      }
    }
    const oldReason = a.reasons?.[0]?.feature;
    const newReason = b.reasons?.[0]?.feature;
    if (oldReason === newReason) sameReason += 1;
    addAbsShap(oldShap, a.shap);
    addAbsShap(newShap, b.shap);
    if (options.show > 0 && (largest.length < options.show || delta > Math.abs(largest.at(-1)!.new - largest.at(-1)!.old))) {
      const row = b.pipe_row !== undefined ? Number(b.pipe_row) : b.row;
      const entry: LargestChange = multiclass
        ? { row, old: 0, new: delta, oldOutcome, newOutcome, oldReason, newReason }
        : { row, old: x, new: y, oldOutcome, newOutcome, oldReason, newReason };
      largest.push(entry);
      largest.sort((p, q) => Math.abs(q.new - q.old) - Math.abs(p.new - p.old));
      if (largest.length > options.show) largest.pop();
    }
  }
  const compared = changes.length;
  const sortedChanges = Float64Array.from(changes).sort();
  const mean = compared ? changes.reduce((s, v) => s + v, 0) / compared : Number.NaN;
  const features = [...new Set([...now.features.map((f) => f.name), ...old.features.map((f) => f.name)])];
  const perRow = (sums: Map<string, number>, card: Card, name: string) => (card.features.some((f) => f.name === name) ? (sums.get(name) ?? 0) / Math.max(1, compared) / (multiclass ? Math.max(1, classes.length) : 1) : undefined);
  const diff: ScoreDiff = {
    rows,
    compared,
    refused: { old: refusedOld, new: refusedNew },
    scoreIs: read.scoreIs,
    change: { mean, p99: quantile(sortedChanges, 0.99), max: compared ? sortedChanges[compared - 1]! : Number.NaN },
    firstReasonSame: compared ? sameReason / compared : Number.NaN,
    meanAbsShap: features.map((feature) => ({ feature, old: perRow(oldShap, old, feature), new: perRow(newShap, now, feature) })),
    shapIs: { old: old.shap_output_meaning ?? old.shap_output ?? '?', new: now.shap_output_meaning ?? now.shap_output ?? '?' },
    largest,
    notes,
  };
  if (read.outcome) {
    diff.outcomeIs = read.outcomeIs;
    diff.agreement = compared ? same / compared : Number.NaN;
    diff.flipRate = compared ? 1 - same / compared : Number.NaN;
    diff.flips = [...flips.values()].sort((p, q) => q.count - p.count);
    const outcomes = now.task === 'binary'
      ? [now.decision?.positive, now.decision?.negative].filter((o): o is string => o !== undefined)
      : [...new Set([...classes, ...oldOutcomes.keys(), ...newOutcomes.keys()])];
    diff.rates = outcomes.map((outcome) => ({ outcome, old: (oldOutcomes.get(outcome) ?? 0) / Math.max(1, compared), new: (newOutcomes.get(outcome) ?? 0) / Math.max(1, compared) }));
  }
  if (compared > 0) diff.psi = multiclass ? categoricalPsi(oldOutcomes, newOutcomes) : psi(Float64Array.from(oldScores), Float64Array.from(newScores));
  if (multiclass) notes.push('PSI is of the predicted label\'s distribution; the change is the largest change of any class\'s probability');
  return diff;
}
