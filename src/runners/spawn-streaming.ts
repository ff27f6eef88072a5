import { spawn } from 'node:child_process';
import { CommandError, InterruptedError, PipeError } from '../errors.js';
import type { StepReporter } from '../reporter/reporter.js';
import { formatCommand } from '../util/format-command.js';
import { LineSplitter, LineTail } from './stream-lines.js';


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
 * Runs a host process with its output streamed line by line into the reporter. The process gets its
 * own process group, so cancelling stops it and everything it started (a shell's children too):
 * SIGTERM to the group, SIGKILL two seconds later.
 */
export function spawnStreaming(opts: SpawnOptions): Promise<{ stdout: string }> {
  const [file, ...args] = opts.argv;
  if (!file) return Promise.reject(new PipeError('EMPTY_COMMAND', 'A step has an empty command'));
  const display = opts.display ?? formatCommand(opts.argv);
  if (opts.signal.aborted) return Promise.reject(new InterruptedError(`Interrupted: ${display}`));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const chunks: Buffer[] = [];
    const out = new LineSplitter((line) => opts.reporter.line(line, 'stdout'));
    const tail = new LineTail(20);
    const err = new LineSplitter((line) => {
      tail.push(line);
      opts.reporter.line(line, 'stderr');
    });
    child.stdout.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    let killTimer: NodeJS.Timeout | undefined;
    const kill = (sig: NodeJS.Signals): void => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        // Already gone.
      }
    };
    const onAbort = (): void => {
      kill('SIGTERM');
      killTimer = setTimeout(() => kill('SIGKILL'), 2000);
    };
    opts.signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error: NodeJS.ErrnoException) => {
      opts.signal.removeEventListener('abort', onAbort);
      if (error.code === 'ENOENT') {
        reject(new PipeError('COMMAND_NOT_FOUND', `Command not found: ${file}`, { hint: `Install ${file} or put it on PATH.`, cause: error }));
      } else reject(error);
    });
    child.on('close', (code, signal) => {
      opts.signal.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      out.end();
      err.end();
      if (opts.signal.aborted) return reject(new InterruptedError(`Interrupted: ${display}`));
      if (code === 0) return resolve({ stdout: Buffer.concat(chunks).toString() });
      reject(new CommandError({ command: display, exitCode: code, signal: signal ?? undefined, where: opts.where, stderrTail: tail.get() }));
    });
  });
}
