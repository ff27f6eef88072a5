import type { StepReporter } from '../reporter/reporter.js';
import type { FunctionLauncher } from '../runtime/function-process.js';

/** One command to run on a runner. Paths in `command` and `cwd` are relative to the project root. */
export interface RunStep {
  /** argv: the program and its arguments, no shell. */
  command: readonly string[];
  /** Working directory relative to the project root (default: the root). */
  cwd?: string;
  env?: Readonly<Record<string, string>>;
  /** Human-readable title for progress lines; defaults to the command. */
  title?: string;
}

export interface RunIo {
  reporter: StepReporter;
  signal: AbortSignal;
}

export interface RunResult {
  /** Full stdout, for steps whose output is data (a version string, JSON). */
  stdout: string;
}

export type RunnerKind = 'local' | 'docker';

/** How `serve` runs the packaged function on a runner. */
export interface FunctionHost {
  /** Starts the function's runtime process (on the host, or in the build image). */
  launch: FunctionLauncher;
  /** The interpreter the function runs with. */
  python: string;
  /** Where it runs, for the served line: "with python3", "in docker <image>". */
  where: string;
}

/**
 * Where build steps run. Tasks do not know which one they use: both see the project at `projectDir`,
 * run with the project root as working directory, stream output line by line into the step reporter,
 * turn a non-zero exit into a `CommandError`, and stop the step when `signal` aborts.
 *
 * A runner has two phases. `identify` is all the planner asks: read-only and cheap, it pulls nothing,
 * starts nothing and writes nothing, so a dry run changes nothing. `prepare` makes the runner able to run
 * steps (pulls the image, finds and checks its Python); the executor runs it as a run-level step before
 * a task gets the runner.
 */
export interface Runner {
  readonly kind: RunnerKind;
  /** The project root as the commands see it (host path, or the mount path in a container). */
  readonly projectDir: string;
  /**
   * Names the environments this runner builds (see `environmentKey`): one per runner and image or
   * interpreter, so switching runner reuses what each one built instead of rebuilding.
   */
  readonly envKey: string;
  /** One line for progress output: "docker (public.ecr.aws/sam/build-python3.11)". */
  describe(): string;
  /**
   * Identity of the toolchain for fingerprints (image id; local Python's version and path), read
   * without side effects. `ready` is false when it cannot be complete before `prepare` (an image not
   * pulled yet): a plan made from it would record the wrong identity.
   */
  identify(signal: AbortSignal): Promise<{ tools: Record<string, string>; ready: boolean }>;
  /** Makes the runner able to run steps: pulls a missing image, finds and checks its Python. Runs once. */
  prepare(io: RunIo): Promise<void>;
  /** The Python interpreter that builds environments (`python3`, or a configured path); known once prepared. */
  readonly python: string;
  /** Its version ("3.11.9"); known once prepared. */
  readonly pythonVersion: string;
  exec(step: RunStep, io: RunIo): Promise<RunResult>;
  /** How `serve` runs the packaged function on this runner; once prepared. */
  functionHost(): Promise<FunctionHost>;
  /** Releases resources (connections, containers) the runner still holds. */
  dispose(): Promise<void>;
}
