import type { StepReporter } from '../reporter/reporter.js';

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

/**
 * Where build steps run. Tasks do not know which one they use: both see the project at `projectDir`,
 * run with the project root as working directory, stream output line by line into the step reporter,
 * turn a non-zero exit into a `CommandError`, and stop the step when `signal` aborts.
 */
export interface Runner {
  readonly kind: RunnerKind;
  /** The project root as the commands see it (host path, or the mount path in a container). */
  readonly projectDir: string;
  /** The Python interpreter that builds environments (`python3`, or a configured path). */
  readonly python: string;
  /**
   * Names the environments this runner builds (see `environmentKey`): one per runner and image or
   * interpreter, so switching runner reuses what each one built instead of rebuilding.
   */
  readonly envKey: string;
  /** One line for progress output: "docker (public.ecr.aws/sam/build-python3.11)". */
  describe(): string;
  /** Identity of the toolchain for fingerprints: image id, Python version. */
  toolVersions(signal: AbortSignal): Promise<Record<string, string>>;
  exec(step: RunStep, io: RunIo): Promise<RunResult>;
  /** Releases resources (connections, containers) the runner still holds. */
  dispose(): Promise<void>;
}
