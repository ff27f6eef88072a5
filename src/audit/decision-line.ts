/**
 * The decision trail as the function writes it: one compact JSON object per prediction record, one
 * line of the function's log (see handler/audit.py). Everything else in the log (Lambda's START/END/REPORT
 * lines, other prints, errors) is not a decision and is skipped.
 */
export type DecisionTask = 'binary' | 'multiclass' | 'regression';

/** What a binary, multiclass or regression model's record produced. */
export interface DecisionOutput {
  probability?: number;
  probabilities?: Record<string, number>;
  prediction?: number;
}

export interface DecisionReason {
  feature: string;
  contribution: number;
}

/** One decision line, as logged. */
export interface DecisionLine {
  pipe_audit: 1;
  /** ISO time the function wrote it. */
  time: string;
  request_id: string | null;
  model_version: string;
  task: DecisionTask;
  /** Binary models: the class `output.probability` is the probability of. */
  positive_class?: string | number | boolean;
  /** What the reasons' contributions are in: log_odds, probability or raw (the predicted value). */
  shap_output?: string;
  /** Index of the record in its request (a request may send several). */
  record: number;
  output: DecisionOutput;
  /** The decision label; null for regression. */
  decision: string | null;
  /** Largest contribution first. */
  reasons: DecisionReason[];
  /** The features that were null in the record (names only); lines written before pipe recorded it lack it. */
  missing?: string[];
  /** SHA-256 of the function's salt followed by the record as canonical JSON. */
  input_sha256: string;
  /** The record's values as sent; only with audit.log 'full'. */
  values?: Record<string, unknown>;
}

const TASKS = new Set(['binary', 'multiclass', 'regression']);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function isOutput(v: unknown): v is DecisionOutput {
  if (!isObject(v)) return false;
  if ('probability' in v) return isNumber(v.probability);
  if ('prediction' in v) return isNumber(v.prediction);
  if ('probabilities' in v) return isObject(v.probabilities) && Object.values(v.probabilities).every(isNumber);
  return false;
}

const isReason = (v: unknown): v is DecisionReason => isObject(v) && typeof v.feature === 'string' && isNumber(v.contribution);

/** The decision a log line holds, or undefined when the line is not one. */
export function parseDecisionLine(line: string): DecisionLine | undefined {
  const text = line.trim();
  if (!text.startsWith('{') || !text.includes('"pipe_audit"')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(value) || value.pipe_audit !== 1) return undefined;
  const ok =
    typeof value.time === 'string' &&
    (value.request_id === null || typeof value.request_id === 'string') &&
    typeof value.model_version === 'string' &&
    typeof value.task === 'string' && TASKS.has(value.task) &&
    Number.isInteger(value.record) &&
    isOutput(value.output) &&
    (value.decision === null || typeof value.decision === 'string') &&
    Array.isArray(value.reasons) && value.reasons.every(isReason) &&
    typeof value.input_sha256 === 'string' &&
    (value.positive_class === undefined || ['string', 'number', 'boolean'].includes(typeof value.positive_class)) &&
    (value.shap_output === undefined || typeof value.shap_output === 'string') &&
    (value.values === undefined || isObject(value.values)) &&
    (value.missing === undefined || (Array.isArray(value.missing) && value.missing.every((m) => typeof m === 'string')));
  return ok ? (value as unknown as DecisionLine) : undefined;
}

/** The decisions in one log event's message (a write may carry several lines). */
export function decisionsOfMessage(message: string): { decision: DecisionLine; raw: string }[] {
  return message.split('\n').flatMap((raw) => {
    const decision = parseDecisionLine(raw);
    return decision ? [{ decision, raw: raw.trim() }] : [];
  });
}

/** CloudWatch Logs filter pattern that leaves out most lines that cannot be decisions. */
export const DECISION_FILTER_PATTERN = '"pipe_audit"';
