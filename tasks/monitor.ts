import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { awsPreflight } from '../src/aws/stages/preflight.js';
import { PROFILE_OPTION } from '../src/aws/resources/profile-option.js';
import { CommandError, EXIT, UsageError } from '../src/errors.js';
import type { DecisionLine } from '../src/audit/decision-line.js';
import type { Baseline, VersionDrift, VersionTally as VersionTallyType } from '../src/monitor/drift.js';
import { venvPython } from '../src/project-paths.js';
import type { TaskContext, TaskDefinition } from '../src/task.js';
import { checkOutputTarget } from '../src/util/output-file.js';
import { sinceOption } from './logs.js';

const FAIL_ON = ['shifted', 'watch'] as const;
type FailOn = (typeof FAIL_ON)[number];

function failOn(options: Readonly<Record<string, unknown>>): FailOn | undefined {
  const value = options['fail-on'];
  if (value === undefined) return undefined;
  if (!FAIL_ON.includes(value as FailOn)) {
    throw new UsageError('OPTION_INVALID', `--fail-on ${JSON.stringify(value)} is not one of: ${FAIL_ON.join(', ')}`, { hint: '--fail-on shifted exits 3 when a version shifted; --fail-on watch also when one is to watch.' });
  }
  return value as FailOn;
}

const list = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : typeof value === 'string' ? [value] : []);

function plotOption(options: Readonly<Record<string, unknown>>): string | undefined {
  const plot = options.plot;
  if (plot === undefined) return undefined;
  if (typeof plot !== 'string' || !plot.toLowerCase().endsWith('.png')) {
    throw new UsageError('OPTION_INVALID', `--plot ${JSON.stringify(plot)} must name a .png file`, { hint: 'e.g. `npx pipe monitor --plot drift.png`' });
  }
  return plot;
}

/** A file as a person finds it: relative to the project when inside it, else as it is. */
const shownPath = (root: string, file: string): string => {
  const relative = path.relative(root, file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
};

interface KnownCard {
  version: string;
  name?: string;
  baseline?: Baseline;
  file: string;
}

/** The model cards whose baselines the trail is compared with: --card files, then the project's artifacts. */
async function knownCards(ctx: TaskContext): Promise<Map<string, KnownCard>> {
  const given = list(ctx.options.card);
  const local = path.join(ctx.root, ctx.config.paths.artifacts, 'model_card.json');
  const files = [...given.map((f) => path.resolve(f)), ...(existsSync(local) ? [local] : [])];
  const cards = new Map<string, KnownCard>();
  for (const file of files) {
    let card: { version?: unknown; name?: unknown; baseline?: Baseline };
    try {
      card = JSON.parse(await readFile(file, 'utf8')) as typeof card;
    } catch (error) {
      throw new UsageError('CARD_UNREADABLE', `--card ${file}: ${(error as Error).message}`, { hint: 'Give a model_card.json (artifacts/model_card.json, or GET / of the function).' });
    }
    if (typeof card.version !== 'string') throw new UsageError('CARD_UNREADABLE', `${file} is not a model card pipe wrote (it has no version)`, { hint: 'Give a model_card.json (artifacts/model_card.json, or GET / of the function).' });
    if (!cards.has(card.version)) cards.set(card.version, { version: card.version, name: typeof card.name === 'string' ? card.name : undefined, baseline: card.baseline, file });
  }
  return cards;
}

/** Draws the score distributions with matplotlib in the training environment, into `target`. */
async function drawPlot(ctx: TaskContext, drifts: readonly VersionDrift[], target: string, source: string): Promise<void> {
  const panels = drifts.filter((d) => d.score).map((d) => ({
    title: `model version ${d.modelVersion}`, score: d.score!.is, bins: d.score!.bins, psi: d.score!.psi.value, reading: d.score!.psi.reading, verdict: d.verdict, by_label: d.task === 'multiclass',
    records: d.records, baseline_rows: d.baselineRows,
  }));
  const step = ctx.reporter.step(`plot the score distributions -> ${target}`);
  if (!panels.length) {
    step.done('nothing drawn: no model version has a baseline to draw against');
    return;
  }
  const { runtimeScript } = await import('../src/runtime/runtime-files.js');
  const runner = await ctx.runner();
  const python = venvPython(ctx.config, runner.envKey);
  if (!existsSync(path.join(ctx.root, python))) {
    step.fail(new Error('no training environment'));
    throw new UsageError('PLOT_NO_ENV', `--plot draws with the training environment's matplotlib, and ${python} does not exist`, { hint: 'Build it first: `npx pipe env`, or leave out --plot.' });
  }
  // Inside the project, where every runner sees it (a container has the project mounted).
  const work = path.join(ctx.root, ctx.config.paths.build, `.monitor-${process.pid}`);
  await mkdir(work, { recursive: true });
  try {
    await writeFile(path.join(work, 'plot.json'), JSON.stringify({ title: `Score distribution, baseline against now (${source})`, panels }));
    const relative = path.relative(ctx.root, work).split(path.sep).join('/');
    const script = await readFile(runtimeScript('monitor_plot.py'), 'utf8');
    try {
      await runner.exec({ command: [python, '-c', script, `${relative}/plot.json`, `${relative}/plot.png`], env: { MPLBACKEND: 'Agg' }, title: 'matplotlib' }, { signal: ctx.signal, reporter: step });
    } catch (error) {
      if (error instanceof CommandError && error.exitCode === 2) {
        throw new UsageError('PLOT_NO_MATPLOTLIB', 'matplotlib is not installed in the training environment', { hint: `Add matplotlib to ${ctx.config.paths.python}/requirements.txt and run \`npx pipe env\`, or leave out --plot.`, cause: error });
      }
      throw error;
    }
    const { placeFile } = await import('../src/util/output-file.js');
    await placeFile(path.join(work, 'plot.png'), path.resolve(target), ctx.options.force === true, target, '--plot');
    step.done(`${panels.length} panel(s)`);
  } catch (error) {
    step.fail(error);
    throw error;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export const monitorTask: TaskDefinition = {
  name: 'monitor',
  description: 'Read the decision trail (CloudWatch, or --file) and compare each model version with its baseline: decision rate, score PSI, missing rates, reasons; a verdict',
  dependencies: [],
  explicitOnly: true,
  options: {
    profile: PROFILE_OPTION,
    since: { type: 'string', describe: 'How far back in CloudWatch: 7d, 12h, or an ISO date', default: '7d' },
    file: { type: 'string', describe: 'Read the trail from a file instead: JSON lines (pipe logs --decisions --json, pipe serve --trail) or pipe audit\'s CSV' },
    card: { type: 'string', describe: 'A model card (model_card.json) whose baseline to compare with, repeatable; artifacts/model_card.json is read too' },
    plot: { type: 'string', describe: 'Draw the score distribution, baseline against now, as a PNG (refused if it exists, unless --force)' },
    'fail-on': { type: 'string', describe: 'Exit 3 when a version is shifted (--fail-on shifted), or also to watch (--fail-on watch): for a scheduled CI job' },
  },
  checkOptions: (options) => {
    sinceOption(options, '7d');
    failOn(options);
    plotOption(options);
  },
  async preflight(ctx) {
    const plot = plotOption(ctx.options);
    if (plot) checkOutputTarget(plot, ctx.options.force === true, '--plot');
    if (typeof ctx.options.file !== 'string') await awsPreflight(ctx);
  },
  async run(ctx) {
    const [{ VersionTally, driftOf, overallVerdict, MIN_DECISIONS }, { driftLines, driftMarkdown }] = await Promise.all([
      import('../src/monitor/drift.js'),
      import('../src/monitor/report.js'),
    ]);
    const cards = await knownCards(ctx);
    const tallies = new Map<string, VersionTallyType>();
    const add = (d: DecisionLine) => {
      let tally = tallies.get(d.model_version);
      const card = cards.get(d.model_version);
      if (!tally) tallies.set(d.model_version, (tally = new VersionTally(d.model_version, card?.baseline, card && shownPath(ctx.root, card.file))));
      tally.add(d);
    };
    let source: string;
    if (typeof ctx.options.file === 'string') {
      const { readTrailFile } = await import('../src/monitor/trail-file.js');
      const step = ctx.reporter.step(`read decisions from ${ctx.options.file}`);
      try {
        const read = await readTrailFile(ctx.options.file, add);
        step.done(`${read.decisions} decision(s) (${read.format}${read.skipped ? `; ${read.skipped} other line(s) skipped` : ''})`);
      } catch (error) {
        step.fail(error);
        throw error;
      }
      source = ctx.options.file;
    } else {
      const { readLoggedDecisions } = await import('../src/audit/logged-decisions.js');
      const since = sinceOption(ctx.options, '7d');
      const read = await readLoggedDecisions(ctx, since, add);
      source = `${read.logGroup} since ${new Date(since).toISOString()}`;
      // Versions the local cards do not cover: their cards are in the published versions' code.
      const { deployedCards } = await import('../src/monitor/deployed-cards.js');
      const wanted = new Set([...tallies.values()].filter((t) => !cards.has(t.modelVersion)).map((t) => t.modelVersion));
      for (const [version, card] of await deployedCards(ctx, wanted)) {
        cards.set(version, { version, baseline: card.baseline, file: `the model card of Lambda version ${card.lambdaVersion}` });
        Object.assign(tallies.get(version)!, { baseline: card.baseline, baselineFrom: `the model card of Lambda version ${card.lambdaVersion}` });
      }
    }
    const drifts = [...tallies.values()].map(driftOf).sort((a, b) => a.period.from.localeCompare(b.period.from));
    if (!drifts.length) ctx.io.print(`no decisions in ${source}`);
    for (const d of drifts) ctx.io.print(driftLines(d).join('\n'));
    const verdict = overallVerdict(drifts);
    const plot = plotOption(ctx.options);
    if (plot) await drawPlot(ctx, drifts, plot, source);
    const threshold = failOn(ctx.options);
    // An alarm that cannot be judged is not a pass: a scheduled job must not go quiet for want of a baseline.
    const unjudged = drifts.filter((d) => d.verdict === 'no baseline' && d.records >= MIN_DECISIONS);
    if (threshold && unjudged.length) {
      throw new UsageError('MONITOR_NO_BASELINE', `--fail-on ${threshold}: model version ${unjudged.map((d) => `${d.modelVersion} (${d.records} decisions)`).join(', ')} cannot be judged: no baseline was found for it`, {
        hint: 'Pass its model card with --card FILE (artifacts/model_card.json of the build, or GET / of the function that served it).',
      });
    }
    const alarm = threshold !== undefined && (verdict === 'shifted' || (threshold === 'watch' && verdict === 'watch'));
    const judged = drifts.filter((d) => d.verdict === verdict);
    return {
      summary: verdict ? `${verdict}${verdict === 'stable' ? '' : ` (model version ${judged.map((d) => d.modelVersion).join(', ')})`}: ${drifts.reduce((n, d) => n + d.records, 0)} decision(s) of ${drifts.length} version(s)` : `no verdict: ${drifts.length ? drifts.map((d) => d.verdict).join(', ') : 'no decisions'}`,
      markdown: drifts.length ? driftMarkdown(drifts, source) : undefined,
      data: { source, verdict: verdict ?? null, versions: drifts },
      ...(alarm ? { exitCode: EXIT.alarm } : {}),
    };
  },
};
