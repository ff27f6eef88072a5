import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import yargs from 'yargs';
import { builtinTasks } from '../../tasks/index.js';
import { loadConfig } from '../config/load.js';
import { RUNNER_CHOICES, type RunnerChoice } from '../config/schema.js';
import { EXIT, PipeError, UsageError, exitCodeOf } from '../errors.js';
import { errorSummary, executeRun, forcedExitSummary, interruptedSummary } from '../executor/executor.js';
import { closestName } from '../util/closest-name.js';
import { checkUserTasks } from '../graph/user-task-checks.js';
import { GithubActionsReporter } from '../reporter/github-actions-reporter.js';
import { JsonReporter } from '../reporter/json-reporter.js';
import { PlainReporter } from '../reporter/plain-reporter.js';
import type { Reporter, RunReport } from '../reporter/reporter.js';
import type { TaskDefinition, TaskIo, TaskOption } from '../task.js';
import { userTasks } from '../user-tasks.js';
import { attachDashValues, checkNumberOptions } from './argv.js';
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

/** What decides the renderer; read from argv as written when parsing itself failed. */
interface OutputChoice {
  json: boolean;
  dryRun: boolean;
  verbose: boolean;
  /** The requested tasks, for the CI summary's heading. */
  tasks: string[];
}

/**
 * listr2 on a terminal (loaded only then: CI logs and --json never pay for it), workflow-command lines
 * under GitHub Actions, plain lines otherwise; `--json` wraps the human one, which then writes to stderr.
 */
async function chooseReporter(choice: OutputChoice): Promise<Reporter> {
  const out = choice.json ? process.stderr : process.stdout;
  let human: Reporter;
  if (process.env.GITHUB_ACTIONS === 'true') {
    human = new GithubActionsReporter({
      out,
      title: `pipe ${choice.tasks.join(' ')}`.trim(),
      workspace: process.env.GITHUB_WORKSPACE || process.cwd(),
      stepSummaryFile: process.env.GITHUB_STEP_SUMMARY || undefined,
      dryRun: choice.dryRun,
    });
  } else if (!choice.json && process.stdout.isTTY && !process.env.CI && !choice.dryRun && !choice.verbose) {
    human = new (await import('../reporter/listr-reporter.js')).ListrReporter();
  } else {
    human = new PlainReporter(out, { dryRun: choice.dryRun });
  }
  return choice.json ? new JsonReporter(human, process.stdout) : human;
}

const choiceOf = (args: Parsed): OutputChoice => ({
  json: Boolean(args.json), dryRun: Boolean(args['dry-run']), verbose: Boolean(args.verbose), tasks: args._.map(String),
});

/** The same choice from the raw words, for a command line that could not be parsed. */
const choiceFromArgv = (argv: readonly string[]): OutputChoice => ({
  json: argv.includes('--json'), dryRun: argv.includes('--dry-run'), verbose: argv.includes('--verbose'), tasks: argv.filter((a) => !a.startsWith('-')).slice(0, 5),
});

/** Message, a failed command's stderr tail, and hint; the stack too for a fault in pipe itself, or with --verbose. */
function printError(error: unknown, verbose: boolean, prefix = ''): void {
  const summary = errorSummary(error);
  process.stderr.write(`\nerror: ${prefix}${summary.message}\n`);
  for (const line of summary.stderrTail ?? []) process.stderr.write(`  ${line}\n`);
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

/**
 * Runs the CLI and returns the exit code: 0 ok, 1 a task failed, 2 usage or config error, 130 interrupted.
 * `onForcedExit` receives what to do if the process is made to exit before the run ends (a second
 * interrupt): the `--json` summary, written at once.
 */
export async function main(argv: string[], signal: AbortSignal, onForcedExit?: (last: (name: NodeJS.Signals) => void) => void): Promise<number> {
  const started = Date.now();
  let verbose = argv.includes('--verbose');
  let reporter: Reporter | undefined;
  let reported = false;
  // Every run that gets past --help and --version ends with one summary (the JSON document with --json,
  // the CI summary), whether it ran tasks or stopped on a usage error, a config error or an interrupt.
  const report = async (run: RunReport, choice: OutputChoice): Promise<void> => {
    reported = true;
    reporter ??= await chooseReporter(choice);
    await reporter.finished(run);
  };
  let choice = choiceFromArgv(argv);
  try {
    const first = parse(argv, GLOBAL_OPTIONS, false);
    verbose = Boolean(first.verbose);
    choice = choiceOf(first);
    if (first.version) {
      process.stdout.write(`${version()}\n`);
      return 0;
    }
    const requested = first._.map(String);
    let loaded: Awaited<ReturnType<typeof loadConfig>> | undefined;
    let note: string | undefined;
    try {
      loaded = await loadConfig({ cwd: process.cwd(), file: first.config as string | undefined, stage: first.stage as string | undefined, readOnly: Boolean(first['dry-run'] || first.help) });
    } catch (error) {
      if (!first.help || (error instanceof PipeError && error.code !== 'CONFIG_NOT_FOUND')) throw error;
      note = 'No pipeline.config.ts found here: tasks defined in a config are not listed.';
    }
    if (loaded) checkUserTasks(builtinTasks.map((t) => t.name), loaded.config);
    const user = loaded ? userTasks(loaded.config.tasks) : [];
    const all: TaskDefinition[] = [...builtinTasks, ...user];
    if (first.help) {
      const task = requested.length === 1 ? all.find((t) => t.name === requested[0]) : undefined;
      process.stdout.write(`${task ? taskHelp(task) : generalHelp(builtinTasks, user, note)}\n`);
      return 0;
    }
    if (requested.length === 0) {
      process.stderr.write(`${generalHelp(builtinTasks, user, note)}\n`);
      throw new UsageError('NO_TASK', 'no task given', { hint: 'Name the task(s) to run, e.g. `npx pipe serve`; `npx pipe --help` lists them.' });
    }
    const byName = new Map(all.map((t) => [t.name, t]));
    const taskOptions: Record<string, TaskOption> = {};
    for (const name of requested) Object.assign(taskOptions, byName.get(name)?.options);
    const options = { ...GLOBAL_OPTIONS, ...taskOptions };
    const words = attachDashValues(argv, options);
    suggestOption(words, [...Object.keys(GLOBAL_OPTIONS), ...Object.keys(taskOptions), ...Object.values(taskOptions).flatMap((o) => (o.alias ? [o.alias] : []))]);
    const args = parse(words, options, true);
    checkNumberOptions(args, words, options);
    const runner = args.runner as string | undefined;
    if (runner !== undefined && !(RUNNER_CHOICES as readonly string[]).includes(runner)) {
      throw new UsageError('BAD_OPTION', `--runner is "${runner}"; expected docker, local or auto`);
    }
    const config = loaded!.config;
    reporter = await chooseReporter(choiceOf(args));
    const noticeTo = reporter;
    onForcedExit?.((name) => noticeTo.exiting?.(forcedExitSummary(signal, name), Date.now() - started));
    const run = await executeRun({
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
        return selectRunner({ config, choice: runner as RunnerChoice | undefined, image: args.image as string | undefined, notice: (text) => noticeTo.notice(text) });
      },
    });
    await report(run, choice);
    const failed = run.tasks.find((t) => t.outcome === 'failed');
    if (failed) printError(failed.cause, verbose, `${failed.name}: `);
    else if (run.exitCode === EXIT.interrupted) process.stderr.write('\ninterrupted\n');
    return run.exitCode;
  } catch (error) {
    const exitCode = exitCodeOf(error, signal);
    const interrupted = exitCode === EXIT.interrupted;
    if (!reported) {
      const summary = interrupted ? interruptedSummary(signal) : errorSummary(error);
      try {
        await report({ ok: false, exitCode, durationMs: Date.now() - started, tasks: [], error: summary }, choice);
      } catch (reportError) {
        printError(reportError, verbose);
      }
    }
    if (interrupted) process.stderr.write('\ninterrupted\n');
    else printError(error, verbose);
    return exitCode;
  }
}
