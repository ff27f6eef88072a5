import { createReadStream, existsSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parse } from 'csv-parse';
import { UsageError } from '../errors.js';
import { parseDecisionLine, type DecisionLine, type DecisionReason } from '../audit/decision-line.js';

const HINT = 'Give the JSON lines of `npx pipe logs --decisions --json`, a file `npx pipe serve --trail FILE` wrote, or the CSV of `npx pipe audit`.';

/** What a trail file held: its decisions go to `add`; the rest is counted. */
export interface TrailFileRead {
  format: 'json lines' | 'csv';
  decisions: number;
  /** Lines (or rows) that are not decisions: other log lines, blank lines. */
  skipped: number;
}

/** Whether the file starts with pipe audit's CSV header (otherwise it is read as JSON lines). */
async function isAuditCsv(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(4096), 0, 4096, 0);
    const first = buffer.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0]!;
    return !first.trimStart().startsWith('{') && /(^|,)model_version(,|$)/.test(first) && /(^|,)input_sha256(,|$)/.test(first);
  } finally {
    await handle.close();
  }
}

/** A CSV cell as pipe audit wrote it: the apostrophe that keeps a spreadsheet from running text as a formula removed. */
const text = (cell: string | undefined): string | undefined => (cell === undefined || cell === '' ? undefined : /^'[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell);
const number = (cell: string | undefined): number | undefined => {
  const t = text(cell);
  if (t === undefined) return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
};

/** One row of `pipe audit`'s CSV as the decision line it came from (values as text). */
function decisionOfRow(row: Record<string, string>, where: string): DecisionLine {
  const task = text(row.task);
  if (task !== 'binary' && task !== 'multiclass' && task !== 'regression') throw new UsageError('TRAIL_UNREADABLE', `${where}: task ${JSON.stringify(row.task)} is not binary, multiclass or regression`);
  const reasons: DecisionReason[] = [];
  for (let i = 1; `reason_${i}_feature` in row; i++) {
    const feature = text(row[`reason_${i}_feature`]);
    const contribution = number(row[`reason_${i}_contribution`]);
    if (feature !== undefined && contribution !== undefined) reasons.push({ feature, contribution });
  }
  const probabilities = Object.fromEntries(Object.keys(row).filter((k) => k.startsWith('probability_')).flatMap((k) => {
    const p = number(row[k]);
    return p === undefined ? [] : [[k.slice('probability_'.length), p]];
  }));
  const output = task === 'binary' ? { probability: number(row.probability) } : task === 'regression' ? { prediction: number(row.prediction) } : { probabilities };
  let missing: string[] | undefined;
  const listed = text(row.missing);
  if (listed !== undefined) {
    try {
      missing = JSON.parse(listed) as string[];
    } catch {
      throw new UsageError('TRAIL_UNREADABLE', `${where}: the missing column is not a JSON list of feature names: ${listed.slice(0, 60)}`);
    }
  }
  const line = {
    pipe_audit: 1, time: text(row.time), request_id: text(row.request_id) ?? null, model_version: text(row.model_version), task,
    ...(text(row.positive_class) !== undefined ? { positive_class: text(row.positive_class) } : {}),
    ...(text(row.shap_output) !== undefined ? { shap_output: text(row.shap_output) } : {}),
    record: number(row.record), output, decision: text(row.decision) ?? null, reasons, input_sha256: text(row.input_sha256),
    ...(missing ? { missing } : {}),
  };
  const checked = parseDecisionLine(JSON.stringify(line));
  if (!checked) throw new UsageError('TRAIL_UNREADABLE', `${where} is not a decision as pipe audit writes one (time, model_version, task, record, output, input_sha256)`);
  return checked;
}

/**
 * Reads a decision trail from a file: JSON lines (what `pipe logs --decisions --json` prints, what
 * `pipe serve --trail` appends; other lines are skipped) or `pipe audit`'s CSV.
 */
export async function readTrailFile(file: string, add: (d: DecisionLine) => void): Promise<TrailFileRead> {
  if (!existsSync(file)) throw new UsageError('TRAIL_NOT_FOUND', `${file} does not exist`, { hint: HINT });
  let decisions = 0;
  let skipped = 0;
  if (!(await isAuditCsv(file))) {
    const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    for await (const raw of lines) {
      const d = parseDecisionLine(raw);
      if (d) {
        add(d);
        decisions += 1;
      } else {
        skipped += 1;
      }
    }
    if (decisions === 0 && skipped > 0) {
      // The whole `--json` document of `pipe logs --decisions --json`: its output holds the lines.
      const output = await readFile(file, 'utf8').then((text) => (JSON.parse(text) as { output?: unknown }).output).catch(() => undefined);
      if (Array.isArray(output)) {
        for (const line of output) {
          const d = typeof line === 'string' ? parseDecisionLine(line) : undefined;
          if (d) {
            add(d);
            decisions += 1;
          }
        }
        if (decisions > 0) return { format: 'json lines', decisions, skipped: output.length - decisions };
      }
      throw new UsageError('TRAIL_UNREADABLE', `${file} holds no decision line: it is neither JSON lines of decisions nor pipe audit's CSV (a header with model_version and input_sha256)`, { hint: HINT });
    }
    return { format: 'json lines', decisions, skipped };
  }
  const rows = createReadStream(file).pipe(parse({ columns: true, bom: true, skip_empty_lines: true, relax_column_count: false }));
  let index = 1;
  try {
    for await (const row of rows as AsyncIterable<Record<string, string>>) {
      index += 1;
      add(decisionOfRow(row, `${file} line ${index}`));
      decisions += 1;
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError('TRAIL_UNREADABLE', `${file} line ${index + 1} cannot be read as CSV: ${(error as Error).message}`);
  }
  return { format: 'csv', decisions, skipped };
}
