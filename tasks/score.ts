import { createReadStream, createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { PipeError, UsageError } from '../src/errors.js';
import { PROFILE_OPTION } from '../src/aws/resources/profile-option.js';
import { formatDuration } from '../src/reporter/format.js';
import { extractForScoring, scoreCacheDir } from '../src/runtime/package-extract.js';
import { driverArgs, runScoreDriver, type ExtractedPackage, type ScoreSummary } from '../src/runtime/score-driver.js';
import type { TaskContext, TaskDefinition } from '../src/task.js';
import { checkOutputTarget, placeFile, stagingName } from '../src/util/output-file.js';

/** Requests in flight to a Function URL by default. */
const DEFAULT_CONCURRENCY = 8;

type Options = Readonly<Record<string, unknown>>;

function text(options: Options, name: string): string | undefined {
  const value = options[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new UsageError('SCORE_BAD_OPTION', `--${name} expects a value`);
  return value;
}

function count(options: Options, name: string, fallback: number | undefined, min = 1): number | undefined {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new UsageError('SCORE_BAD_OPTION', `--${name} must be a whole number of at least ${min}, got ${String(value)}`);
  }
  return value;
}

/** What the options ask for, checked before anything is built. */
export function scoreRequest(options: Options) {
  const data = text(options, 'data');
  if (data === undefined) {
    throw new UsageError('OPTION_MISSING', 'score needs --data FILE.csv: the table to score', { hint: 'e.g. `npx pipe score --data applicants.csv --out scored.csv`' });
  }
  const out = text(options, 'out');
  if (out === undefined) {
    throw new UsageError('OPTION_MISSING', 'score needs --out FILE.csv (or .jsonl): where to write the scores', { hint: 'e.g. `npx pipe score --data applicants.csv --out scored.csv`' });
  }
  const extension = path.extname(out).toLowerCase();
  if (extension !== '.csv' && extension !== '.jsonl') {
    throw new UsageError('SCORE_BAD_OPTION', `--out ${out}: the file's extension says the format, .csv or .jsonl`, { hint: 'e.g. --out scored.csv, or --out scored.jsonl for the function\'s own answers, one JSON object a row.' });
  }
  const url = text(options, 'url');
  const deployed = options.deployed === true;
  if (deployed && url !== undefined) throw new UsageError('SCORE_BAD_OPTION', 'Pass either --deployed or --url, not both');
  const keep = (text(options, 'keep') ?? '').split(',').map((c) => c.trim()).filter(Boolean);
  return {
    data,
    out,
    output: extension === '.jsonl' ? ('jsonl' as const) : ('csv' as const),
    keep,
    jobs: count(options, 'jobs', os.availableParallelism()),
    chunk: count(options, 'chunk', undefined),
    strict: options.strict === true,
    deployed,
    url,
    concurrency: count(options, 'concurrency', DEFAULT_CONCURRENCY)!,
  };
}

/** A table as it is read: a file that exists and is one. */
export function checkTable(file: string): string {
  const resolved = path.resolve(file);
  if (!existsSync(resolved)) throw new UsageError('SCORE_DATA_MISSING', `--data ${file} does not exist`, { hint: 'Name a CSV file with a header line and one row per record.' });
  if (!statSync(resolved).isFile()) throw new UsageError('SCORE_DATA_MISSING', `--data ${file} is not a file`);
  return resolved;
}

/** Data rows in a CSV, counted as lines after the header (a cell with a line break counts twice): for the ETA. */
async function estimateRows(file: string): Promise<number> {
  let lines = 0;
  let last = 10;
  for await (const chunk of createReadStream(file)) {
    const bytes = chunk as Buffer;
    for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) lines += 1;
    last = bytes.at(-1) ?? last;
  }
  return Math.max(0, lines + (last === 10 ? 0 : 1) - 1);
}

/** A package directory holding only a card: what the requests and format steps read of a deployed model. */
async function cardOnlyPackage(ctx: TaskContext, card: string): Promise<{ pkg: ExtractedPackage; remove(): Promise<void> }> {
  const dir = path.join(scoreCacheDir(ctx.config), `.card-${process.pid}-${Date.now()}`);
  await mkdir(path.join(dir, 'artifacts'), { recursive: true });
  await writeFile(path.join(dir, 'artifacts', 'model_card.json'), card);
  return { pkg: { codeDir: dir, layerDirs: [] }, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The card a Function URL serves (GET / as JSON): what its answers mean. */
async function servedCard(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: 'application/json', ...headers }, signal });
  } catch (error) {
    if (signal.aborted) throw error;
    const cause = (error as { cause?: { code?: string } }).cause;
    throw new PipeError('SCORE_UNREACHABLE', `Cannot reach ${url}: ${cause?.code ?? String(error)}`, { hint: 'Is the URL right (`npx pipe status`), and `pipe serve` still running for a local one?' });
  }
  const body = await response.text();
  if (!response.ok) throw new PipeError('SCORE_HTTP_ERROR', `GET ${url} answered ${response.status}: ${body.slice(0, 300)}`, { hint: 'The URL must be a pipe function\'s (its GET / is the model card).' });
  try {
    const card = JSON.parse(body) as { features?: unknown };
    if (!Array.isArray(card.features)) throw new Error('no features');
  } catch {
    throw new PipeError('SCORE_NOT_A_MODEL', `GET ${url} is not a pipe model card`, { hint: 'Point --url at the function\'s base URL (what `pipe serve` or `pipe status` prints).' });
  }
  return body;
}

export const scoreTask: TaskDefinition = {
  name: 'score',
  description: "Score every row of a table with the packaged function's own code (--data FILE.csv --out FILE.csv|.jsonl; --deployed: through the live Function URL)",
  dependencies: ['package'],
  explicitOnly: true,
  options: {
    data: { type: 'string', describe: 'The table to score: CSV with a header line (every feature column; others are ignored unless --keep names them)' },
    out: { type: 'string', describe: 'Where to write the scores: .csv, or .jsonl for the function\'s answers as JSON (refused if it exists, unless --force)' },
    keep: { type: 'string', describe: 'Columns to pass through to the output, comma-separated (an id, a branch)' },
    jobs: { type: 'number', describe: 'Processes scoring in parallel (default: the machine\'s cores)' },
    chunk: { type: 'number', describe: "Rows per batch (default and most: the card's max_records)" },
    strict: { type: 'boolean', describe: 'Stop at the first row the function refuses, naming it (default: its message goes in the error column)', default: false },
    deployed: { type: 'boolean', describe: "Score through the stage's live Function URL (signed when url.auth is AWS_IAM)", default: false },
    url: { type: 'string', describe: 'Score through this Function URL instead (a `pipe serve` one, for instance)' },
    concurrency: { type: 'number', describe: `Requests in flight with --deployed or --url (default ${DEFAULT_CONCURRENCY}, never above function.reservedConcurrency)` },
    profile: PROFILE_OPTION,
  },
  checkOptions: (options) => void scoreRequest(options),
  async preflight(ctx) {
    const request = scoreRequest(ctx.options);
    checkTable(request.data);
    checkOutputTarget(request.out, ctx.options.force === true);
    if (request.deployed) await (await import('../src/aws/stages/preflight.js')).awsPreflight(ctx);
  },
  async run(ctx) {
    const request = scoreRequest(ctx.options);
    const data = checkTable(request.data);
    const target = checkOutputTarget(request.out, ctx.options.force === true);
    const verbose = ctx.options.verbose === true;
    const host = await (await ctx.runner()).functionHost();
    const onLog = (line: string) => {
      if (verbose) ctx.reporter.line(line, 'stderr');
    };

    const total = await estimateRows(data);
    const scoring = ctx.reporter.step(`score ${path.relative(ctx.root, data) || data}${request.url || request.deployed ? ' through the function URL' : ` ${host.where}`}`);
    const onProgress = (rows: number, seconds: number) => {
      const rate = seconds > 0 ? rows / seconds : undefined;
      scoring.progress({ label: 'rows', current: rows, total, unit: 'items', rate, etaMs: rate && total > rows ? ((total - rows) / rate) * 1000 : undefined });
    };
    const tmp = stagingName(target);
    const output = createWriteStream(tmp, { flags: 'wx', mode: 0o644 });
    const cleanups: (() => Promise<void>)[] = [];
    let summary: ScoreSummary | undefined;
    try {
      const args = driverArgs({ keep: request.keep, output: request.output, chunk: request.chunk, strict: request.strict });
      if (request.url !== undefined || request.deployed) {
        const { scoreThroughUrl } = await import('../src/runtime/score-remote.js');
        const live = request.deployed ? await (await import('../src/aws/stages/live-url.js')).liveUrl(ctx) : undefined;
        const url = live?.url ?? request.url!;
        const headers = live
          ? (r: { method: string; url: string; body: string; contentType?: string }) => live.sign(r)
          : async (): Promise<Record<string, string>> => ({});
        const cardHeaders = await headers({ method: 'GET', url, body: '' });
        const card = await cardOnlyPackage(ctx, await servedCard(url, cardHeaders, ctx.signal));
        cleanups.push(card.remove);
        const reserved = ctx.config.function.reservedConcurrency;
        let concurrency = request.concurrency;
        if (request.deployed && reserved !== undefined && reserved > 0 && concurrency > reserved) {
          scoring.line(`--concurrency ${concurrency} is above function.reservedConcurrency ${reserved}: sending ${reserved} at a time`, 'warn');
          concurrency = reserved;
        }
        summary = await scoreThroughUrl({
          host, pkg: card.pkg, args, env: ctx.config.function.env, input: createReadStream(data), output, signal: ctx.signal,
          target: { url, headers }, concurrency, onProgress, onLog,
          onRetry: (message) => scoring.line(message, 'warn'),
        });
      } else {
        const extracting = ctx.reporter.step('extract package');
        const pkg = await extractForScoring(ctx.config);
        extracting.done();
        summary = await runScoreDriver({
          host, pkg, mode: 'score', args: [...args, '--jobs', String(request.jobs)], env: ctx.config.function.env,
          input: createReadStream(data), output, signal: ctx.signal, onProgress, onLog,
        });
      }
      output.end();
      await finished(output);
      ctx.signal.throwIfAborted();
      await placeFile(tmp, target, ctx.options.force === true, request.out);
    } catch (error) {
      scoring.fail(error);
      throw error;
    } finally {
      output.destroy();
      await rm(tmp, { force: true });
      for (const cleanup of cleanups) await cleanup();
    }
    const result = summary!;
    const rate = result.seconds > 0 ? `, ${Math.round(result.rows / result.seconds)} rows/s` : '';
    scoring.done(`${result.rows} rows in ${formatDuration(result.seconds * 1000)}${rate}`);
    if (result.refused > 0) {
      ctx.reporter.line(`${result.refused} of ${result.rows} rows refused (their message is in the error column):`, 'warn');
      for (const [message, times] of result.top) ctx.reporter.line(`  ${times} x ${message}`, 'warn');
    }
    if (result.shapIs) ctx.reporter.line(`SHAP columns: ${result.shapIs}`, 'info');
    ctx.io.print(`${request.out}: ${result.rows} rows${result.refused ? `, ${result.refused} refused` : ''}`);
    return { summary: `${result.rows} rows -> ${request.out}${result.refused ? ` (${result.refused} refused)` : ''}` };
  },
};
