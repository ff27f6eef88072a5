import { open, rm, type FileHandle } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createReadStream } from 'node:fs';
import { checkOutputTarget, placeFile, stagingName } from '../util/output-file.js';
import type { DecisionLine } from './decision-line.js';

/**
 * The columns of an export beyond the fixed ones, known only once every decision was read: the class
 * labels of multiclass models, the most reasons a row has, the feature names of `full` lines.
 */
export interface CsvShape {
  classes: string[];
  reasons: number;
  values: string[];
}

export const FIXED_COLUMNS = [
  'time', 'request_id', 'record', 'model_version', 'task', 'decision', 'probability', 'positive_class', 'prediction', 'shap_output', 'input_sha256', 'missing',
] as const;

export function emptyShape(): CsvShape {
  return { classes: [], reasons: 0, values: [] };
}

/** Widens the shape to hold `d`. */
export function growShape(shape: CsvShape, d: DecisionLine): void {
  for (const label of Object.keys(d.output.probabilities ?? {})) if (!shape.classes.includes(label)) shape.classes.push(label);
  shape.reasons = Math.max(shape.reasons, d.reasons.length);
  for (const feature of Object.keys(d.values ?? {})) if (!shape.values.includes(feature)) shape.values.push(feature);
}

export function csvHeader(shape: CsvShape): string[] {
  return [
    ...FIXED_COLUMNS,
    ...shape.classes.map((c) => `probability_${c}`),
    ...Array.from({ length: shape.reasons }, (_, i) => [`reason_${i + 1}_feature`, `reason_${i + 1}_contribution`]).flat(),
    ...shape.values.map((f) => `value_${f}`),
  ];
}

type Cell = string | number | boolean | null | undefined;

export function csvCells(d: DecisionLine, shape: CsvShape): Cell[] {
  const reasons = Array.from({ length: shape.reasons }, (_, i) => [d.reasons[i]?.feature, d.reasons[i]?.contribution]).flat();
  const value = (v: unknown): Cell => (v === null || ['string', 'number', 'boolean'].includes(typeof v) ? (v as Cell) : JSON.stringify(v));
  return [
    d.time, d.request_id, d.record, d.model_version, d.task, d.decision, d.output.probability, d.positive_class, d.output.prediction,
    d.shap_output, d.input_sha256, d.missing && JSON.stringify(d.missing),
    ...shape.classes.map((c) => d.output.probabilities?.[c]),
    ...reasons,
    ...shape.values.map((f) => (d.values && f in d.values ? value(d.values[f]) : undefined)),
  ];
}

/**
 * One CSV field (RFC 4180). Text that a spreadsheet would run as a formula (=, +, -, @ first) gets a
 * leading apostrophe: a value sent to the public URL must not become code in the reviewer's spreadsheet.
 */
export function csvField(cell: Cell): string {
  if (cell === null || cell === undefined) return '';
  if (typeof cell === 'number' || typeof cell === 'boolean') return String(cell);
  const formula = /^[=+\-@\t\r]/.test(cell) && !/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(cell);
  const text = formula ? `'${cell}` : cell;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const csvLine = (cells: readonly Cell[]): string => `${cells.map(csvField).join(',')}\r\n`;

/** Refuses an output that exists (without `force`) or whose directory does not, before any work. */
/** The CSV target, checked before any work (see checkOutputTarget). */
export const checkCsvTarget = checkOutputTarget;

/** Buffered appends to a file handle: one write per few hundred lines, errors thrown where they happen. */
class LineFile {
  private buffer: string[] = [];
  private size = 0;
  private constructor(private readonly handle: FileHandle) {}
  static async create(file: string): Promise<LineFile> {
    return new LineFile(await open(file, 'wx', 0o644));
  }
  async write(text: string): Promise<void> {
    this.buffer.push(text);
    this.size += text.length;
    if (this.size >= 1 << 16) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const text = this.buffer.join('');
    this.buffer = [];
    this.size = 0;
    await this.handle.write(text);
  }
  async close(): Promise<void> {
    try {
      await this.flush();
      await this.handle.sync();
    } finally {
      await this.handle.close();
    }
  }
  async abandon(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}

export interface CsvExportOptions {
  /** As the user wrote it (messages); resolved against the working directory. */
  file: string;
  force: boolean;
  /** Reads the decisions, handing each to `add`, in the order they should appear. */
  fill(add: (decision: DecisionLine) => Promise<void>): Promise<void>;
  signal?: AbortSignal;
}

/**
 * Writes the decisions as CSV, one row per decision, atomically: rows go to a staging file next to the
 * target (first as JSON lines, because the columns are known only at the end; then as CSV) and the CSV
 * appears under its name only when complete. A failure or an interrupt leaves no file behind, and an
 * existing file is never touched without `force`.
 */
export async function exportDecisionsCsv(options: CsvExportOptions): Promise<{ rows: number; file: string; columns: string[] }> {
  const target = checkCsvTarget(options.file, options.force);
  const staged = stagingName(target, 'jsonl.tmp');
  const tmp = stagingName(target);
  const shape = emptyShape();
  let rows = 0;
  let jsonl: LineFile | undefined;
  let csv: LineFile | undefined;
  try {
    jsonl = await LineFile.create(staged);
    const sink = jsonl;
    await options.fill(async (decision) => {
      growShape(shape, decision);
      rows += 1;
      await sink.write(`${JSON.stringify(decision)}\n`);
    });
    await jsonl.close();
    jsonl = undefined;
    options.signal?.throwIfAborted();

    csv = await LineFile.create(tmp);
    const columns = csvHeader(shape);
    await csv.write(csvLine(columns));
    const lines = createInterface({ input: createReadStream(staged, 'utf8'), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line) await csv.write(csvLine(csvCells(JSON.parse(line) as DecisionLine, shape)));
    }
    await csv.close();
    csv = undefined;
    options.signal?.throwIfAborted();
    await placeFile(tmp, target, options.force, options.file);
    return { rows, file: target, columns };
  } finally {
    await jsonl?.abandon();
    await csv?.abandon();
    await rm(staged, { force: true });
    await rm(tmp, { force: true });
  }
}
