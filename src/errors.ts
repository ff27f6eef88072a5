/**
 * Errors pipe raises on purpose. `PipeError` carries a stable `code`, a `hint` telling the user what to
 * do, and whether the user (bad input, missing engine, missing credentials) or pipe itself is at fault.
 * The CLI prints message + hint for user errors and a stack only for internal ones or with --verbose.
 */
export type ExitCode = 0 | 1 | 2 | 3 | 130;

export interface PipeErrorOptions {
  hint?: string;
  cause?: unknown;
  /** What --json reports with the error (e.g. the steps of a rollout that was rolled back). */
  details?: unknown;
}

export class PipeError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly details?: unknown;
  /** True when the user can fix it (input, environment); false for a fault in pipe itself. */
  readonly userError: boolean = true;

  constructor(code: string, message: string, options: PipeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    if (options.details !== undefined) this.details = options.details;
  }
}

/** Bad command line or configuration: exit code 2. */
export class UsageError extends PipeError {}

/** Where in a file an error is: CI annotations point at it. */
export interface SourceLocation {
  /** Absolute path. */
  file: string;
  /** 1-based, when known. */
  line?: number;
  column?: number;
}

/** The config file is invalid: names the file, the key and what is allowed. Exit code 2. */
export class ConfigError extends UsageError {
  readonly file: string;
  /** The file, and the line of the offending key or syntax error when it could be found. */
  readonly location?: SourceLocation;
  constructor(file: string, message: string, options: PipeErrorOptions & { location?: SourceLocation } = {}) {
    super('CONFIG_INVALID', `${file}: ${message}`, options);
    this.file = file;
    this.location = options.location;
  }
}

/**
 * A command (on the host or in a container) that exited non-zero or was killed, read like execa's
 * errors: `message` is one line (what failed, where, the command) for a summary; the command, its exit
 * code and the last lines of its stderr are fields of their own, shown by whoever prints the details.
 */
export class CommandError extends PipeError {
  readonly command: string;
  /** The process's exit code; null when it ended without one (killed by a signal). */
  readonly exitCode: number | null;
  /** The signal that ended it ("SIGKILL"), when one did. */
  readonly signal?: string;
  /** The last lines the command wrote to stderr. */
  readonly stderrTail: readonly string[];

  constructor(args: { command: string; exitCode: number | null; signal?: string; where: string; stderrTail: readonly string[] }) {
    const how = args.signal ? `was killed by ${args.signal}` : `failed with exit code ${args.exitCode}`;
    super('COMMAND_FAILED', `Command ${how} (${args.where}): ${args.command}`);
    this.command = args.command;
    this.exitCode = args.exitCode;
    this.signal = args.signal;
    this.stderrTail = args.stderrTail;
  }
}

/** The run was interrupted (SIGINT/SIGTERM): exit code 130. */
export class InterruptedError extends PipeError {
  constructor(message = 'Interrupted', hint = 'Nothing half-written was kept. Run the same command again: tasks that finished are skipped.') {
    super('INTERRUPTED', message, { hint });
  }
}

/** A bug in pipe: printed with a stack. */
export class InternalError extends PipeError {
  override readonly userError = false;
  constructor(message: string, cause?: unknown) {
    super('INTERNAL', message, { cause });
  }
}

export function isAbortError(error: unknown): boolean {
  return error instanceof InterruptedError || (error instanceof Error && error.name === 'AbortError');
}

/** The CLI's exit codes, by meaning. */
export const EXIT = { ok: 0, failed: 1, usage: 2, alarm: 3, interrupted: 130 } as const satisfies Record<string, ExitCode>;

/**
 * The CLI's exit code for an error that ended the run (the one place it is decided): interrupted when
 * the run's signal aborted or the error is an abort, usage for the user's command line or config,
 * failed for anything else.
 */
export function exitCodeOf(error: unknown, signal?: AbortSignal): ExitCode {
  if (signal?.aborted || isAbortError(error)) return EXIT.interrupted;
  if (error instanceof UsageError) return EXIT.usage;
  return EXIT.failed;
}
