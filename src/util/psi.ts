/**
 * The population stability index, as credit teams read it: the PSI of `now` against `old`'s shares per
 * bin, sum of (q - p) ln(q / p), an empty bin counting as 0.01%. `pipe diff` compares two models on the
 * same rows with it; `pipe monitor` compares the decision trail with the baseline on the model card.
 */

export interface Psi {
  value: number;
  /** < 0.1 stable, 0.1-0.25 watch, > 0.25 shifted. */
  reading: 'stable' | 'watch' | 'shifted';
  bins: number;
}

export const psiReading = (value: number): Psi['reading'] => (value < 0.1 ? 'stable' : value <= 0.25 ? 'watch' : 'shifted');

/** The value at quantile q of sorted values, interpolating linearly between ranks (numpy's default). */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.min(sorted.length - 1, low + 1);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (at - low);
}

/** The bin of `x` among `edges` (sorted): the number of edges below it; a score equal to an edge goes below. */
export function binOf(edges: readonly number[], x: number): number {
  let low = 0;
  let high = edges.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (edges[mid]! < x) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** PSI of observed counts against expected shares. */
export function psiOfShares(expected: readonly number[], counts: readonly number[]): Psi {
  const n = counts.reduce((a, b) => a + b, 0);
  let value = 0;
  for (let k = 0; k < expected.length; k++) {
    const p = Math.max(expected[k]!, 1e-4);
    const q = Math.max((counts[k] ?? 0) / n, 1e-4);
    value += (q - p) * Math.log(q / p);
  }
  return { value, reading: psiReading(value), bins: expected.length };
}

/** Counts of `values` in the bins cut at `edges`. */
export function binCounts(edges: readonly number[], values: Iterable<number>): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const x of values) counts[binOf(edges, x)]! += 1;
  return counts;
}

/** The PSI of `now` in bins cut at `old`'s deciles (ties merge bins). */
export function psi(old: Float64Array, now: Float64Array): Psi {
  const sorted = Float64Array.from(old).sort();
  const edges = [...new Set(Array.from({ length: 9 }, (_, i) => quantile(sorted, (i + 1) / 10)))];
  return psiOfShares(binCounts(edges, old).map((c) => c / old.length), binCounts(edges, now));
}

/** The PSI of categories (a label's distribution): the count of each, old against new. */
export function categoricalPsi(old: ReadonlyMap<string, number>, now: ReadonlyMap<string, number>): Psi {
  const keys = [...new Set([...old.keys(), ...now.keys()])];
  const total = keys.reduce((n, k) => n + (old.get(k) ?? 0), 0);
  return psiOfShares(keys.map((k) => (old.get(k) ?? 0) / total), keys.map((k) => now.get(k) ?? 0));
}
