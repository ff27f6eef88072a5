import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import { PipeError, UsageError } from '../errors.js';
import { packageDir } from '../project-paths.js';
import { extractForScoring, scoreCacheDir } from '../runtime/package-extract.js';
import { runScoreDriver, type ExtractedPackage } from '../runtime/score-driver.js';
import type { FunctionHost } from '../runners/runner.js';
import type { TaskContext } from '../task.js';
import { compareCards, type Card } from './cards.js';
import type { DiffReport } from './report.js';
import { compareScores, incomparable, type ScoredRow } from './scores.js';

export interface DiffOptions {
  /** `live`, a version number, or a package directory. */
  against: string;
  /** A table to score (CSV); default the validation rows of the model's data. */
  data?: string;
  /** Rows with the largest changes to list. */
  show: number;
}

/** The validation rows' own column: their 1-based row number in the data file. */
const ROW_COLUMN = 'pipe_row';

/** A package's card, checked against the model file it describes (its sha256 on the card). */
async function readCard(pkg: ExtractedPackage, label: string): Promise<Card> {
  const artifacts = path.join(pkg.codeDir, 'artifacts');
  let card: Card;
  try {
    card = JSON.parse(await readFile(path.join(artifacts, 'model_card.json'), 'utf8')) as Card;
  } catch (error) {
    throw new PipeError('DIFF_NO_CARD', `${label} has no readable model card (artifacts/model_card.json): ${(error as Error).message}`, { hint: 'It must be a package pipe built (function.zip with artifacts/).' });
  }
  for (const [file, expected] of Object.entries(card.artifacts ?? {})) {
    const bytes = await readFile(path.join(artifacts, file)).catch(() => undefined);
    const actual = bytes && createHash('sha256').update(bytes).digest('hex');
    if (actual !== expected.sha256) {
      throw new PipeError('DIFF_CARD_MISMATCH', `${label}: artifacts/${file} ${bytes ? `has sha256 ${actual!.slice(0, 12)}` : 'is missing'}, its card says ${expected.sha256.slice(0, 12)}`, {
        hint: 'The package was altered after it was built: rebuild it (`npx pipe package --force`) or deploy again.',
      });
    }
  }
  return card;
}

/** The package to compare with, as a directory: a deployed version downloaded, or the one named. */
async function otherPackage(ctx: TaskContext, against: string): Promise<{ dir: string; label: string; version?: string }> {
  if (against === 'live' || /^\d+$/.test(against)) {
    const [{ withAwsClients }, { downloadDeployedPackage }] = await Promise.all([
      import('../aws/resources/task-clients.js'),
      import('../aws/stages/deployed-package.js'),
    ]);
    const step = ctx.reporter.step(`download ${against === 'live' ? 'the live version' : `version ${against}`}`);
    try {
      const got = await withAwsClients(ctx, (clients) => downloadDeployedPackage(clients, ctx.config, against, path.join(scoreCacheDir(ctx.config), 'deployed'), ctx.signal));
      step.done(`version ${got.version} (code ${got.sha256.slice(0, 12)})`);
      return { dir: got.dir, label: against === 'live' ? `live (version ${got.version})` : `version ${got.version}`, version: got.version };
    } catch (error) {
      step.fail(error);
      throw error;
    }
  }
  const dir = path.resolve(against);
  if (!existsSync(path.join(dir, 'function.zip'))) {
    throw new UsageError('DIFF_BAD_AGAINST', `--against ${against}: not live, a version number, or a package directory (no function.zip in ${dir})`, {
      hint: 'e.g. --against live, --against 7, or --against build/package-old (a copy of an earlier build/package).',
    });
  }
  return { dir, label: path.relative(process.cwd(), dir) || dir };
}

/** The table both models are scored on: --data, else the held-out rows of model.data (or of the example). */
async function tableToScore(ctx: TaskContext, host: FunctionHost, data: string | undefined, work: string): Promise<{ file: string; source: string; keep: string[] }> {
  if (data !== undefined) {
    const file = path.resolve(data);
    if (!existsSync(file)) throw new UsageError('SCORE_DATA_MISSING', `--data ${data} does not exist`, { hint: 'Name a CSV file with every feature column.' });
    return { file, source: data, keep: [] };
  }
  const artifacts = path.join(ctx.root, ctx.config.paths.artifacts);
  if (!ctx.config.model.data) {
    const example = path.join(artifacts, 'example_validation.csv');
    if (!existsSync(example)) throw new UsageError('DIFF_NO_DATA', 'No table to compare on: the built-in example\'s validation rows (artifacts/example_validation.csv) are not there', { hint: 'Train again (`npx pipe model`), or pass --data FILE.csv.' });
    return { file: example, source: 'the example\'s validation rows', keep: [] };
  }
  const index = path.join(artifacts, 'validation_index.csv');
  if (!existsSync(index)) throw new UsageError('DIFF_NO_DATA', `${ctx.config.paths.artifacts}/validation_index.csv is missing: which rows were held out is not known`, { hint: 'Train again (`npx pipe model`), or pass --data FILE.csv.' });
  const source = path.join(ctx.root, ctx.config.model.data);
  const file = path.join(work, 'validation.csv');
  const output = createWriteStream(file);
  // The selection needs no package: the script runs with Python's standard library only, on the host.
  await runScoreDriver({
    host: { ...host, launch: (await import('../runtime/function-process.js')).spawnFunctionProcess, python: ctx.config.python },
    pkg: { codeDir: work, layerDirs: [] }, mode: 'select', args: ['--rows', index], env: {}, input: createReadStream(source), output, signal: ctx.signal,
  });
  output.end();
  await finished(output);
  return { file, source: `the validation rows of ${ctx.config.model.data}`, keep: [ROW_COLUMN] };
}

async function* rowsOf(file: string): AsyncGenerator<ScoredRow> {
  for await (const line of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
    if (line) yield JSON.parse(line) as ScoredRow;
  }
}

async function* pairsOf(a: string, b: string): AsyncGenerator<[ScoredRow, ScoredRow]> {
  const left = rowsOf(a);
  const right = rowsOf(b);
  for (;;) {
    const [x, y] = await Promise.all([left.next(), right.next()]);
    if (x.done || y.done) {
      if (x.done !== y.done) throw new Error('the two scorings have different row counts');
      return;
    }
    yield [x.value, y.value];
  }
}

/**
 * Compares the project's package with another (live, a version, a directory): their cards side by side,
 * and both scored by the function's own code on the same table, row by row.
 */
export async function diffPackages(ctx: TaskContext, options: DiffOptions): Promise<DiffReport> {
  const other = await otherPackage(ctx, options.against);
  const cache = scoreCacheDir(ctx.config);
  const extracting = ctx.reporter.step('extract packages');
  const oldPkg = await extractForScoring(ctx.config, other.dir);
  const newPkg = await extractForScoring(ctx.config);
  extracting.done();
  const oldCard = await readCard(oldPkg, other.label);
  const newCard = await readCard(newPkg, 'the local package');
  const report: DiffReport = {
    old: { label: other.label, version: oldCard.version },
    new: { label: `local (${packageDir(ctx.config)})`, version: newCard.version },
    card: compareCards(oldCard, newCard),
  };
  const reason = incomparable(oldCard, newCard);
  if (reason) {
    report.notCompared = reason;
    return report;
  }
  const work = path.join(cache, `.diff-${process.pid}-${Date.now()}`);
  await mkdir(work, { recursive: true });
  try {
    const host = await (await ctx.runner()).functionHost();
    const table = await tableToScore(ctx, host, options.data, work);
    const scored: string[] = [];
    for (const [name, pkg] of [['old', oldPkg], ['new', newPkg]] as const) {
      const step = ctx.reporter.step(`score ${table.source} with the ${name} model`);
      const file = path.join(work, `${name}.jsonl`);
      const output = createWriteStream(file);
      try {
        const summary = await runScoreDriver({
          host, pkg, mode: 'score', args: [...table.keep.flatMap((k) => ['--keep', k]), '--output', 'jsonl', '--jobs', String((await import('node:os')).availableParallelism())],
          env: { ...ctx.config.function.env }, input: createReadStream(table.file), output, signal: ctx.signal,
          onProgress: (rows) => step.progress({ label: 'rows', current: rows, unit: 'items' }),
        });
        output.end();
        await finished(output);
        step.done(`${summary?.rows ?? 0} rows`);
      } catch (error) {
        output.destroy();
        step.fail(error);
        throw error;
      }
      scored.push(file);
    }
    const scores = await compareScores(oldCard, newCard, pairsOf(scored[0]!, scored[1]!), { show: options.show });
    report.table = { source: table.source, rows: scores.rows };
    report.scores = scores;
    return report;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The gate's verdict on a diff: the limits it exceeds, each with its numbers (empty: it passes). */
export function gateFailures(report: DiffReport, gate: { maxFlipRate?: number; maxScorePsi?: number }): string[] {
  const failures: string[] = [];
  const s = report.scores;
  if (!s) {
    if (report.notCompared && (gate.maxFlipRate !== undefined || gate.maxScorePsi !== undefined)) failures.push(`the scores cannot be compared: ${report.notCompared}`);
    return failures;
  }
  if (gate.maxFlipRate !== undefined && s.flipRate !== undefined && s.flipRate > gate.maxFlipRate) {
    const flips = (s.flips ?? []).map((f) => `${f.count} ${f.from} -> ${f.to}`).join(', ');
    failures.push(`${(s.flipRate * 100).toFixed(2)}% of ${s.compared} ${s.outcomeIs}s flip (${flips}); release.gate.maxFlipRate is ${(gate.maxFlipRate * 100).toFixed(2)}%`);
  }
  if (gate.maxScorePsi !== undefined && s.psi && s.psi.value > gate.maxScorePsi) {
    failures.push(`the score's PSI against the live deciles is ${s.psi.value.toFixed(3)} (${s.psi.reading}); release.gate.maxScorePsi is ${gate.maxScorePsi}`);
  }
  return failures;
}
