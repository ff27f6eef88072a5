import { CommandError, InterruptedError, PipeError } from '../errors.js';
import type { StepReporter } from '../reporter/reporter.js';
import { formatCommand } from '../util/format-command.js';
import { groupEnded, groupStarted } from '../util/running-groups.js';
import { LineTail } from './stream-lines.js';

/** How many of a failed command's last stderr lines its error keeps. */
const STDERR_TAIL_LINES = 20;
/** How long a cancelled command's process group has between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 2000;

export interface SpawnOptions {
  argv: readonly string[];
  cwd: string;
  env?: Readonly<Record<string, string>>;
  signal: AbortSignal;
  reporter: StepReporter;
  /** Where it ran, for error messages: "local", "task lint". */
  where: string;
  /** Shown instead of the argv in errors (a shell command as the user wrote it). */
  display?: string;
}

/**
 * Runs a host process through execa with its output streamed line by line into the reporter. The process
 * gets its own process group, so cancelling stops it and everything it started (a shell's children too):
 * SIGTERM to the group, SIGKILL two seconds later. A non-zero exit is a `CommandError` with the stderr tail.
 */
export async function spawnStreaming(opts: SpawnOptions): Promise<{ stdout: string }> {
  const [file, ...args] = opts.argv;
  if (!file) throw new PipeError('EMPTY_COMMAND', 'A step has an empty command');
  const display = opts.display ?? formatCommand(opts.argv);
  if (opts.signal.aborted) throw new InterruptedError(`Interrupted: ${display}`);
  const tail = new LineTail(STDERR_TAIL_LINES);
  // Loaded when a step first runs: a run whose tasks are all up to date never pays for execa's import.
  const { execa } = await import('execa');
  if (opts.signal.aborted) throw new InterruptedError(`Interrupted: ${display}`);
  const subprocess = execa(file, args, {
    cwd: opts.cwd,
    env: { ...opts.env },
    stdin: 'ignore',
    detached: true,
    reject: false,
    stripFinalNewline: false,
    stdout: [function* (line: unknown) {
      opts.reporter.line(String(line), 'stdout');
      yield line;
    }],
    // stderr is shown as it comes and kept only as its tail.
    stderr: [function* (line: unknown) {
      tail.push(String(line));
      opts.reporter.line(String(line), 'stderr');
    }],
  });
  let killTimer: NodeJS.Timeout | undefined;
  const killGroup = (sig: NodeJS.Signals): void => {
    try {
      if (subprocess.pid) process.kill(-subprocess.pid, sig);
    } catch {
      // Already gone.
    }
  };
  const onAbort = (): void => {
    killGroup('SIGTERM');
    killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
  };
  opts.signal.addEventListener('abort', onAbort, { once: true });
  if (subprocess.pid) groupStarted(subprocess.pid);
  try {
    const result = await subprocess;
    if (opts.signal.aborted) throw new InterruptedError(`Interrupted: ${display}`);
    if (result.code === 'ENOENT' && result.exitCode === undefined) {
      throw new PipeError('COMMAND_NOT_FOUND', `Command not found: ${file}`, { hint: `Install ${file} or put it on PATH.`, cause: result.cause });
    }
    if (result.failed) {
      if (result.exitCode === undefined && !result.signal) throw result.cause ?? result;
      throw new CommandError({ command: display, exitCode: result.exitCode ?? null, signal: result.signal, where: opts.where, stderrTail: tail.get() });
    }
    return { stdout: String(result.stdout) };
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
    if (killTimer) clearTimeout(killTimer);
    if (subprocess.pid) groupEnded(subprocess.pid);
  }
}
