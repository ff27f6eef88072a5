import { formatNumber, formatPair } from '../reporter/format.js';

/** The parts of a model card a comparison reads (model_card.json as the model task writes it). */
export interface Card {
  name?: string;
  version?: string;
  task: 'binary' | 'multiclass' | 'regression';
  target?: string;
  classes?: (string | number | boolean)[];
  positive_class?: string | number | boolean;
  features: { name: string; type: string; categories?: string[] }[];
  model?: { estimator?: string; class?: string; params?: Record<string, unknown> };
  metrics?: Record<string, number>;
  decision?: { threshold?: number; positive?: string; negative?: string };
  shap_output?: string;
  shap_output_meaning?: string;
  explainer?: { measured_against?: string };
  reference?: { description?: string };
  artifacts?: Record<string, { sha256: string; bytes: number }>;
  training_data?: Record<string, unknown>;
}

/** One difference between two cards: what, and its value in each. */
export interface CardChange {
  /** The section: features, categories, task, model, metrics, decision, reference, explanation. */
  section: string;
  what: string;
  old: string;
  new: string;
}

const show = (value: unknown): string => (value === undefined || value === null ? '-' : typeof value === 'string' ? value : JSON.stringify(value));

function change(changes: CardChange[], section: string, what: string, old: unknown, now: unknown): void {
  if (show(old) !== show(now)) changes.push({ section, what, old: show(old), new: show(now) });
}

/** What the new card changes from the old one, section by section; empty when they say the same. */
export function compareCards(old: Card, now: Card): CardChange[] {
  const changes: CardChange[] = [];
  change(changes, 'task', 'task', old.task, now.task);
  change(changes, 'task', 'target', old.target, now.target);
  change(changes, 'task', 'classes', old.classes, now.classes);
  change(changes, 'task', 'positive class', old.positive_class, now.positive_class);

  const before = new Map(old.features.map((f) => [f.name, f]));
  const after = new Map(now.features.map((f) => [f.name, f]));
  for (const f of now.features) if (!before.has(f.name)) changes.push({ section: 'features', what: `${f.name} added`, old: '-', new: f.type });
  for (const f of old.features) if (!after.has(f.name)) changes.push({ section: 'features', what: `${f.name} removed`, old: f.type, new: '-' });
  for (const f of now.features) {
    const was = before.get(f.name);
    if (!was) continue;
    change(changes, 'features', `${f.name} type`, was.type, f.type);
    if (was.categories || f.categories) {
      const had = new Set(was.categories ?? []);
      const has = new Set(f.categories ?? []);
      const added = [...has].filter((c) => !had.has(c));
      const removed = [...had].filter((c) => !has.has(c));
      if (added.length) changes.push({ section: 'categories', what: `${f.name} categories added`, old: '-', new: added.join(', ') });
      if (removed.length) changes.push({ section: 'categories', what: `${f.name} categories removed`, old: removed.join(', '), new: '-' });
    }
  }

  change(changes, 'model', 'estimator', old.model?.estimator ?? old.model?.class, now.model?.estimator ?? now.model?.class);
  const params = new Set([...Object.keys(old.model?.params ?? {}), ...Object.keys(now.model?.params ?? {})]);
  for (const name of [...params].sort()) change(changes, 'model', `hyperparameter ${name}`, old.model?.params?.[name], now.model?.params?.[name]);
  const data = (card: Card) => (typeof card.training_data?.sha256 === 'string' ? `sha256 ${card.training_data.sha256.slice(0, 12)}` : undefined);
  change(changes, 'model', 'training data', data(old), data(now));

  const metrics = new Set([...Object.keys(old.metrics ?? {}), ...Object.keys(now.metrics ?? {})]);
  for (const name of [...metrics].sort()) {
    const [was, is] = [old.metrics?.[name], now.metrics?.[name]];
    if (show(was) === show(is)) continue;
    // A regression's errors are in its target's unit; the numbers as pipe writes them, as many digits as tell them apart.
    const what = now.task === 'regression' && (name === 'rmse' || name === 'mae') && now.target ? `${name} (in ${now.target})` : name;
    const one = (v: unknown) => (typeof v === 'number' ? formatNumber(v) : show(v));
    const [a, b] = typeof was === 'number' && typeof is === 'number' ? formatPair(was, is) : [one(was), one(is)];
    changes.push({ section: 'metrics', what, old: a, new: b });
  }

  change(changes, 'decision', 'threshold', old.decision?.threshold, now.decision?.threshold);
  change(changes, 'decision', 'labels', old.decision && `${show(old.decision.positive)} / ${show(old.decision.negative)}`, now.decision && `${show(now.decision.positive)} / ${show(now.decision.negative)}`);
  change(changes, 'explanation', 'SHAP values are of', old.shap_output_meaning ?? old.shap_output, now.shap_output_meaning ?? now.shap_output);
  change(changes, 'reference', 'measured against', old.reference?.description ?? old.explainer?.measured_against, now.reference?.description ?? now.explainer?.measured_against);
  return changes;
}
