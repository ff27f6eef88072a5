import type { ResolvedConfig } from './config/resolved.js';
import { UsageError, type EXIT } from './errors.js';
import type { StepReporter } from './reporter/reporter.js';
import type { Runner } from './runners/runner.js';

/** A task-specific command-line option, shown by `pipe <task> --help`. */
export interface TaskOption {
  type: 'string' | 'number' | 'boolean';
  describe: string;
  default?: string | number | boolean;
  alias?: string;
}

/** What a task may ask of the user's terminal. */
export interface TaskIo {
  /** True when stdin and stdout are a TTY (a person can answer). */
  readonly interactive: boolean;
  /** Asks a yes/no question; only call when `interactive`. */
  confirm(question: string): Promise<boolean>;
  /** Writes to stdout outside the progress display (a served URL, an invoke response). */
  print(text: string): void;
}

export interface TaskContext {
  readonly name: string;
  readonly config: ResolvedConfig;
  /** Absolute project root. */
  readonly root: string;
  /** Parsed values of the task's options and the global ones (`yes`, `verbose`, `force`, ...). */
  readonly options: Readonly<Record<string, unknown>>;
  readonly reporter: StepReporter;
  readonly signal: AbortSignal;
  readonly io: TaskIo;
  /** The build runner (docker or local), created on first use and shared by the run's tasks. */
  runner(): Promise<Runner>;
  /**
   * A temporary path for a declared output: write there, and the executor renames it over `output`
   * only when the task succeeds, so an interrupted run never leaves a half-written output behind.
   */
  staging(output: string): string;
}

export interface TaskResult {
  /** One line for the summary: a URL, package sizes. */
  summary?: string;
  /** The URL the task deployed or serves (the JSON report and the CI step summary show it). */
  url?: string;
  /** Bytes of archives the task uploaded. */
  bytesUploaded?: number;
  /** A Markdown section for the CI step summary (a diff's tables). */
  markdown?: string;
  /** What the task found, as data: the `--json` document carries it (a diff's numbers). */
  data?: Record<string, unknown>;
  /**
   * The task ran to its end, and what it found asks the run to exit with this code: 3, an alarm for a
   * scheduled job (`pipe monitor --fail-on shifted`). Its summary, Markdown and data are reported as usual.
   */
  exitCode?: typeof EXIT.alarm;
}

/**
 * A task: one node of the graph. With both `inputs` and `outputs` declared it is skipped while its
 * fingerprint is unchanged and its outputs exist; without them it always runs.
 */
export interface TaskDefinition {
  name: string;
  description: string;
  dependencies: readonly string[];
  /** Project-relative globs whose content is part of the fingerprint. */
  inputs?: (config: ResolvedConfig) => readonly string[];
  /**
   * Project-relative files or directories the task produces. A `perEnvironment` task gets the runner's
   * `envKey`: its outputs are that environment's.
   */
  outputs?: (config: ResolvedConfig, envKey?: string) => readonly string[];
  /** The part of the configuration the task reads: part of the fingerprint. */
  configSlice?: (config: ResolvedConfig) => unknown;
  /** True when the task runs steps on the runner: the runner's tool versions join the fingerprint. */
  usesRunner?: boolean;
  /**
   * One set of outputs and one stored fingerprint per runner environment (the runner's `envKey`: runner
   * and image or interpreter), so switching runner and back finds the first one's outputs up to date.
   */
  perEnvironment?: boolean;
  options?: Readonly<Record<string, TaskOption>>;
  /**
   * Checks the parsed options before anything is planned or built, throwing a UsageError (exit 2) that
   * names the option: `serve --port abc` fails at once, not after the build.
   */
  checkOptions?: (options: Readonly<Record<string, unknown>>) => void;
  /**
   * Runs only when asked for by name (serve, invoke, logs, ...): never a dependency of another task (the
   * analyzer rejects one that names it), and it takes no project lock, since no other task reads what it
   * does.
   */
  explicitOnly?: boolean;
  /**
   * Checks that can fail before anything runs (AWS credentials, a free port): a task that always runs
   * (no declared inputs and outputs) is checked before planning, others once the plan says they run, and
   * all before the first task starts, so `pipe env model deploy` without credentials fails at once
   * instead of after the build. Not run by a dry run.
   */
  preflight?: (ctx: Pick<TaskContext, 'config' | 'options' | 'signal'>) => Promise<void>;
  run(ctx: TaskContext): Promise<TaskResult | void>;
}

/** What a user-defined `run` function in pipeline.config.ts receives. */
export interface UserTaskContext {
  root: string;
  stage: string;
  signal: AbortSignal;
  log(line: string): void;
}

/**
 * The rule of `explicitOnly`: no task depends on one. Part of the analyzer's checks, so a config whose
 * task depends on `serve` fails before anything runs.
 */
export function checkExplicitOnly(tasks: readonly Pick<TaskDefinition, 'name' | 'dependencies' | 'explicitOnly'>[]): void {
  const explicitOnly = new Set(tasks.filter((t) => t.explicitOnly).map((t) => t.name));
  for (const task of tasks) {
    const dep = task.dependencies.find((d) => explicitOnly.has(d));
    if (dep !== undefined) {
      throw new UsageError('EXPLICIT_ONLY_DEPENDENCY', `Task "${task.name}" depends on "${dep}", which runs only when asked for by name`, {
        hint: `Remove "${dep}" from the dependencies of "${task.name}" in pipeline.config.ts, and run \`pipe ${task.name} ${dep}\` to have both.`,
      });
    }
  }
}
