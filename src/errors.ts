/**
 * Errors pipe raises on purpose. `PipeError` carries a stable `code`, a `hint` telling the user what to
 * do, and whether the user (bad input, missing engine, missing credentials) or pipe itself is at fault.
 * The CLI prints message + hint for user errors and a stack only for internal ones or with --verbose.
 */
export type ExitCode = 0 | 1 | 2 | 130;

export interface PipeErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Exit code the CLI uses when this error ends the run. */
  exitCode?: ExitCode;
}

export class PipeError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly exitCode: ExitCode;
  /** True when the user can fix it (input, environment); false for a fault in pipe itself. */
  readonly userError: boolean = true;

  constructor(code: string, message: string, options: PipeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Bad command line or configuration: exit code 2. */
export class UsageError extends PipeError {
  constructor(code: string, message: string, options: Omit<PipeErrorOptions, 'exitCode'> = {}) {
    super(code, message, { ...options, exitCode: 2 });
  }
}

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
  constructor(file: string, message: string, options: Omit<PipeErrorOptions, 'exitCode'> & { location?: SourceLocation } = {}) {
    super('CONFIG_INVALID', `${file}: ${message}`, options);
    this.file = file;
    this.location = options.location;
  }
}

/** A command (on the host or in a container) exited non-zero, read like execa's errors. */
export class CommandError extends PipeError {
  readonly command: string;
  readonly exitCode_: number | null;
  readonly stderrTail: string[];

  constructor(args: { command: string; exitCode: number | null; signal?: string; where: string; stderrTail: string[] }) {
    const how = args.signal ? `was killed by ${args.signal}` : `failed with exit code ${args.exitCode}`;
    const tail = args.stderrTail.length ? `\n${args.stderrTail.map((l) => `  ${l}`).join('\n')}` : '';
    super('COMMAND_FAILED', `Command ${how} (${args.where}): ${args.command}${tail}`);
    this.command = args.command;
    this.exitCode_ = args.exitCode;
    this.stderrTail = args.stderrTail;
  }
}

/** The run was interrupted (SIGINT/SIGTERM): exit code 130. */
export class InterruptedError extends PipeError {
  constructor(message = 'Interrupted') {
    super('INTERRUPTED', message, {
      exitCode: 130,
      hint: 'Nothing half-written was kept. Run the same command again: tasks that finished are skipped.',
    });
  }
}

/** A task registered in the CLI whose implementation is not available in this build. */
export class NotImplementedError extends UsageError {
  constructor(task: string, what: string) {
    super('NOT_IMPLEMENTED', `Task "${task}" is not available yet: ${what}`, {
      hint: 'This build of pipe does not include it; nothing was changed.',
    });
  }
}

/** A bug in pipe: printed with a stack. */
export class InternalError extends PipeError {
  override readonly userError = false;
  constructor(message: string, cause?: unknown) {
    super('INTERNAL', message, { cause, exitCode: 1 });
  }
}

export function isAbortError(error: unknown): boolean {
  return error instanceof InterruptedError || (error instanceof Error && error.name === 'AbortError');
}
