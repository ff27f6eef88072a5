import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import yargs from 'yargs';
import { builtinTasks } from '../../tasks/index.js';
import { loadConfig } from '../config/load.js';
import { RUNNER_CHOICES, type RunnerChoice } from '../config/schema.js';
import { PipeError, UsageError } from '../errors.js';
import { errorSummary, executeRun, failureCauses } from '../executor/executor.js';
import { closestName } from '../graph/graph.js';
import { JsonReporter } from '../reporter/json-reporter.js';
import { formatProgress } from '../reporter/format.js';
import { PlainReporter } from '../reporter/plain-reporter.js';
import type { Reporter, RunReport, StepReporter } from '../reporter/reporter.js';
import type { TaskDefinition, TaskIo, TaskOption } from '../task.js';
import { userTasks } from '../user-tasks.js';
import { GLOBAL_OPTIONS, generalHelp, taskHelp } from './help.js';

type Parsed = Record<string, unknown> & { _: (string | number)[] };

function parse(argv: string[], options: Record<string, TaskOption>, strict: boolean): Parsed {
  let parser = yargs(argv)
    .help(false)
    .version(false)
    .parserConfiguration({ 'camel-case-expansion': false })
    .exitProcess(false)
    .fail((message: string | undefined, error: Error | undefined) => {
      throw new UsageError('BAD_OPTION', message ?? error?.message ?? 'Invalid arguments', { hint: 'Run `pipe --help` (or `pipe <task> --help`) for the options.' });
    });
  for (const [name, o] of Object.entries(options)) parser = parser.option(name, { type: o.type, alias: o.alias, default: o.default });
  if (strict) parser = parser.strictOptions();
  return parser.parseSync() as Parsed;
}

function suggestOption(argv: string[], known: string[]): void {
  for (const arg of argv) {
    const name = /^--(?:no-)?([^=]+)/.exec(arg)?.[1];
    if (name && !known.includes(name)) {
      const close = closestName(name, known);
      throw new UsageError('UNKNOWN_OPTION', `Unknown option --${name}${close ? `. Did you mean --${close}?` : ''}`, {
        hint: 'Run `pipe --help` (or `pipe <task> --help`) for the options.',
      });
    }
  }
}

/** listr2 on a terminal (loaded only then: CI logs and --json never pay for it), plain lines otherwise. */
async function chooseReporter(args: Parsed): Promise<Reporter> {
  if (args.json) return new JsonReporter(new PlainReporter(process.stderr), process.stdout);
  const tty = process.stdout.isTTY && !process.env.CI && !args['dry-run'] && !args.verbose;
  if (tty) return new (await import('../reporter/listr-reporter.js')).ListrReporter();
  return new PlainReporter(process.stdout, { dryRun: Boolean(args['dry-run']) });
}

/** Message and hint; the stack too for a fault in pipe itself, or with --verbose. */
function printError(error: unknown, verbose: boolean, prefix = ''): void {
  const summary = errorSummary(error);
  process.stderr.write(`\nerror: ${prefix}${summary.message}\n`);
  if (summary.hint) process.stderr.write(`hint: ${summary.hint}\n`);
  const internal = !(error instanceof PipeError) || !error.userError;
  if ((verbose || internal) && error instanceof Error && error.stack) process.stderr.write(`\n${error.stack}\n`);
  if (verbose && error instanceof Error && error.cause instanceof Error && error.cause.stack) process.stderr.write(`caused by: ${error.cause.stack}\n`);
  if (!verbose && internal) process.stderr.write('\nThis looks like a bug in pipe; please report it with the output above.\n');
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function taskIo(reporter: Reporter): TaskIo {
  return {
    interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    async confirm(question: string): Promise<boolean> {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
      } finally {
        rl.close();
      }
    },
    print: (text) => reporter.print(text),
  };
}

/** Runs the CLI and returns the exit code: 0 ok, 1 a task failed, 2 usage or config error, 130 interrupted. */
export async function main(argv: string[], signal: AbortSignal): Promise<number> {
  let verbose = argv.includes('--verbose');
  try {
    const first = parse(argv, GLOBAL_OPTIONS, false);
    verbose = Boolean(first.verbose);
    if (first.version) {
      process.stdout.write(`${version()}\n`);
      return 0;
    }
    const requested = first._.map(String);
    let loaded: Awaited<ReturnType<typeof loadConfig>> | undefined;
    let note: string | undefined;
    try {
      loaded = await loadConfig({ cwd: process.cwd(), file: first.config as string | undefined, stage: first.stage as string | undefined, builtinTasks: builtinTasks.map((t) => t.name), readOnly: Boolean(first['dry-run'] || first.help) });
    } catch (error) {
      if (!first.help || (error instanceof PipeError && error.code !== 'CONFIG_NOT_FOUND')) throw error;
      note = 'No pipeline.config.ts found here: tasks defined in a config are not listed.';
    }
    const user = loaded ? userTasks(loaded.config.tasks) : [];
    const all: TaskDefinition[] = [...builtinTasks, ...user];
    if (first.help) {
      const task = requested.length === 1 ? all.find((t) => t.name === requested[0]) : undefined;
      process.stdout.write(`${task ? taskHelp(task) : generalHelp(builtinTasks, user, note)}\n`);
      return 0;
    }
    if (requested.length === 0) {
      process.stderr.write(`${generalHelp(builtinTasks, user, note)}\n\nerror: no task given\n`);
      return 2;
    }
    const byName = new Map(all.map((t) => [t.name, t]));
    const taskOptions: Record<string, TaskOption> = {};
    for (const name of requested) Object.assign(taskOptions, byName.get(name)?.options);
    suggestOption(argv, [...Object.keys(GLOBAL_OPTIONS), ...Object.keys(taskOptions), ...Object.values(taskOptions).flatMap((o) => (o.alias ? [o.alias] : []))]);
    const args = parse(argv, { ...GLOBAL_OPTIONS, ...taskOptions }, true);
    const runner = args.runner as string | undefined;
    if (runner !== undefined && !(RUNNER_CHOICES as readonly string[]).includes(runner)) {
      throw new UsageError('BAD_OPTION', `--runner is "${runner}"; expected docker, local or auto`);
    }
    const config = loaded!.config;
    const reporter = await chooseReporter(args);
    // The runner reports before any task runs (image pull): its progress is throttled to a line per layer
    // every two seconds, and the last one.
    const lastProgress = new Map<string, number>();
    const runnerStep: StepReporter = {
      line: (text) => reporter.notice(text),
      progress: (u) => {
        const done = u.total !== undefined && u.current >= u.total;
        if (!done && Date.now() - (lastProgress.get(u.label) ?? 0) < 2000) return;
        lastProgress.set(u.label, Date.now());
        reporter.notice(formatProgress(u));
      },
      step: () => runnerStep,
      done() {},
      fail() {},
    };
    let report: RunReport;
    try {
      report = await executeRun({
        config,
        tasks: all,
        requested,
        options: args,
        reporter,
        signal,
        io: taskIo(reporter),
        force: Boolean(args.force),
        dryRun: Boolean(args['dry-run']),
        createRunner: async () => {
          const { selectRunner } = await import('../runners/select-runner.js');
          return selectRunner({ config, choice: runner as RunnerChoice | undefined, image: args.image as string | undefined, reporter: runnerStep, signal, readOnly: Boolean(args['dry-run']) });
        },
      });
    } catch (error) {
      const code = error instanceof PipeError ? error.exitCode : 1;
      await reporter.finished({ ok: false, exitCode: signal.aborted ? 130 : code, durationMs: 0, tasks: [], error: errorSummary(error) });
      throw error;
    }
    await reporter.finished(report);
    const failed = report.tasks.find((t) => t.outcome === 'failed');
    if (failed) printError(failureCauses.get(failed), verbose, `${failed.name}: `);
    else if (report.exitCode === 130) process.stderr.write('\ninterrupted\n');
    return report.exitCode;
  } catch (error) {
    if (signal.aborted) {
      process.stderr.write('\ninterrupted\n');
      return 130;
    }
    printError(error, verbose);
    return error instanceof PipeError ? error.exitCode : 1;
  }
}
