import type { Readable, Writable } from 'node:stream';
import { runtimeScript, type RuntimeScript } from './runtime-files.js';

/** What a launcher needs to start lambda_runtime.py for one function, in host paths. */
export interface LaunchRequest {
  /** Interpreter, e.g. `python3`. */
  python: string;
  codeDir: string;
  layerDirs: readonly string[];
  handler: string;
  timeoutSeconds: number;
  /** Lambda's environment for the function (host paths in LAMBDA_TASK_ROOT / LAMBDA_RUNTIME_DIR). */
  env: Readonly<Record<string, string | undefined>>;
  /**
   * Another of pipe's scripts to run with the function's code and layers instead of lambda_runtime.py
   * (`pipe score`'s driver), with its arguments given the code and layer paths as the process sees them.
   */
  script?: { name: RuntimeScript; args(codeDir: string, layerDirs: readonly string[]): string[] };
}

/** How a function process ended: an exit code, a signal, or an error that kept it from running. */
export interface ProcessExit {
  code: number | null;
  signal: string | null;
  error?: Error;
}

/** A running lambda_runtime.py: the JSON-lines protocol on stdin/stdout, its log on stderr. */
export interface FunctionProcess {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Host process id, when the function is a host process. */
  readonly pid?: number;
  kill(signal: 'SIGTERM' | 'SIGKILL'): void;
  /** Settles once the process has exited and its stdout and stderr have ended. */
  readonly exited: Promise<ProcessExit>;
}

/** Starts the runtime for one execution environment: a host process by default, or a container. */
export type FunctionLauncher = (request: LaunchRequest) => FunctionProcess | Promise<FunctionProcess>;

/** Arguments of lambda_runtime.py after the script path. */
export function runtimeArgs(codeDir: string, layerDirs: readonly string[], handler: string, timeoutSeconds: number): string[] {
  const args = ['--code', codeDir, '--handler', handler, '--timeout', String(timeoutSeconds)];
  for (const layer of layerDirs) args.push('--layer', layer);
  return args;
}

/** The script a launch runs and its arguments, given where the process sees the code, the layers and the scripts. */
export function launchCommand(request: LaunchRequest, codeDir: string, layerDirs: readonly string[], scriptPath: (name: RuntimeScript) => string): string[] {
  if (request.script) return [scriptPath(request.script.name), ...request.script.args(codeDir, layerDirs)];
  return [scriptPath('lambda_runtime.py'), ...runtimeArgs(codeDir, layerDirs, request.handler, request.timeoutSeconds)];
}

/** The default launcher: the host's Python, isolated (`-I -S`) so only the function's files import. */
export async function spawnFunctionProcess(request: LaunchRequest): Promise<FunctionProcess> {
  // Loaded when a function first starts, not with every task that could start one.
  const { execa } = await import('execa');
  const args = ['-I', '-S', ...launchCommand(request, request.codeDir, request.layerDirs, runtimeScript)];
  // Its own process group: Ctrl-C in the terminal reaches pipe, which stops the function itself, instead
  // of interrupting the Python process mid-read with a traceback. If pipe dies, stdin closes and it exits.
  const child = execa(request.python, args, {
    cwd: request.codeDir,
    env: request.env,
    extendEnv: false,
    stdin: 'pipe',
    detached: true,
    buffer: false,
    reject: false,
  });
  const exited = child.then((result): ProcessExit => {
    const ran = result.exitCode !== undefined || result.signal !== undefined;
    return {
      code: result.exitCode ?? null,
      signal: result.signal ?? null,
      ...(ran ? {} : { error: result.cause instanceof Error ? result.cause : new Error(result.shortMessage) }),
    };
  });
  return {
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    get pid() {
      return child.pid;
    },
    kill: (signal) => {
      child.kill(signal);
    },
    exited,
  };
}
