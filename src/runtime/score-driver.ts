import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { PipeError, UsageError } from '../errors.js';
import type { FunctionHost } from '../runners/runner.js';
import { LineTail } from '../runners/stream-lines.js';

/** An extracted package: the function's code (Lambda's /var/task) and its layers (/opt). */
export interface ExtractedPackage {
  codeDir: string;
  layerDirs: readonly string[];
}

/** What a scoring run ends with: rows written, rows refused and the commonest reasons. */
export interface ScoreSummary {
  rows: number;
  refused: number;
  /** The most frequent refusal messages, with their counts. */
  top: [string, number][];
  seconds: number;
  /** What the SHAP columns are of (the card's words): the output and what it is measured against. */
  shapIs?: string;
}

export type DriverMode = 'score' | 'requests' | 'format' | 'select';

export interface DriverOptions {
  host: FunctionHost;
  pkg: ExtractedPackage;
  mode: DriverMode;
  /** The driver's options after its mode and paths: --keep, --output, --jobs, --chunk, --strict. */
  args: readonly string[];
  /** The function's own environment variables. */
  env: Readonly<Record<string, string>>;
  input: Readable;
  output: Writable;
  signal: AbortSignal;
  onProgress?: (rows: number, seconds: number) => void;
  /** Whatever else the process writes to stderr (the function's own warnings). */
  onLog?: (line: string) => void;
}

const PROTOCOL = 'PIPE-SCORE ';
const TAIL_LINES = 15;

interface DriverMessage {
  progress?: number;
  seconds?: number;
  done?: boolean;
  rows?: number;
  refused?: number;
  top?: [string, number][];
  error?: string;
  exit?: number;
  shap_is?: string | null;
}

/** The options every mode of the driver takes from a score request. */
export function driverArgs(options: { keep: readonly string[]; output: 'csv' | 'jsonl'; jobs?: number; chunk?: number; strict?: boolean }): string[] {
  return [
    ...options.keep.flatMap((column) => ['--keep', column]),
    '--output', options.output,
    ...(options.jobs === undefined ? [] : ['--jobs', String(options.jobs)]),
    ...(options.chunk === undefined ? [] : ['--chunk', String(options.chunk)]),
    ...(options.strict ? ['--strict'] : []),
  ];
}

/**
 * Runs src/runtime/score_table.py with the package's code and layers, by the runner's Python (on the host
 * or in the build image, as `serve` runs the function): `input` goes to its stdin, its stdout to `output`.
 * Resolves with the summary (undefined in `requests` mode); a bad table is a UsageError (exit 2) with the
 * driver's message, any other failure a PipeError with the last lines it wrote.
 */
export async function runScoreDriver(options: DriverOptions): Promise<ScoreSummary | undefined> {
  const { host, pkg, mode } = options;
  const child = await host.launch({
    python: host.python,
    codeDir: pkg.codeDir,
    layerDirs: pkg.layerDirs,
    handler: 'app.handler',
    timeoutSeconds: 0,
    env: {
      PATH: process.env.PATH,
      LANG: 'C.UTF-8',
      TZ: ':UTC',
      ...options.env,
      PIPE_AUDIT_LOG: 'off',
      PYTHONHASHSEED: '0',
    },
    script: {
      name: 'score_table.py',
      args: (code, layers) => [mode, '--code', code, ...layers.flatMap((layer) => ['--layer', layer]), ...options.args],
    },
  });
  const abort = () => child.kill('SIGKILL');
  options.signal.addEventListener('abort', abort, { once: true });
  const tail = new LineTail(TAIL_LINES);
  let summary: ScoreSummary | undefined;
  let failure: DriverMessage | undefined;
  createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => {
    if (!line.startsWith(PROTOCOL)) {
      tail.push(line);
      options.onLog?.(line);
      return;
    }
    const message = JSON.parse(line.slice(PROTOCOL.length)) as DriverMessage;
    if (message.progress !== undefined) options.onProgress?.(message.progress, message.seconds ?? 0);
    else if (message.done) {
      summary = { rows: message.rows ?? 0, refused: message.refused ?? 0, top: message.top ?? [], seconds: message.seconds ?? 0, ...(message.shap_is ? { shapIs: message.shap_is } : {}) };
    }
    else if (message.error !== undefined) failure = message;
  });
  // The process may stop reading (a bad header, an interrupt) before the input ends: its exit says why.
  child.stdin.on('error', () => undefined);
  options.input.on('error', (error) => {
    failure ??= { error: `cannot read the table: ${error.message}`, exit: 2 };
    abort();
  });
  options.input.pipe(child.stdin);
  child.stdout.pipe(options.output, { end: false });
  const written = once(child.stdout, 'end').catch(() => undefined);
  try {
    const exit = await child.exited;
    await written;
    options.signal.throwIfAborted();
    if (exit.error) {
      throw new PipeError('PYTHON_NOT_FOUND', `Cannot run ${host.python} to score the table: ${exit.error.message}`, {
        hint: 'Install Python 3 or set `python` in pipeline.config.ts to an interpreter that exists.',
      });
    }
    if (exit.code === 0 && !failure) return summary;
    const message = failure?.error ?? `the scoring process ended with ${exit.signal ? `signal ${exit.signal}` : `exit code ${String(exit.code)}`}`;
    if ((failure?.exit ?? exit.code) === 2) {
      throw new UsageError('SCORE_BAD_INPUT', message, { hint: 'Fix the table (or the options) as the message says; nothing was written.' });
    }
    throw new PipeError('SCORE_FAILED', message, {
      hint: tail.get().length ? `Its last output:\n${tail.get().join('\n')}` : 'Run it again with --verbose for the function\'s own output.',
    });
  } finally {
    options.signal.removeEventListener('abort', abort);
    options.input.unpipe(child.stdin);
  }
}
