import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { PipeError } from '../errors.js';
import { LineTail } from '../runners/stream-lines.js';
import { spawnFunctionProcess, type FunctionLauncher, type FunctionProcess } from './function-process.js';
import { runtimeScript } from './runtime-files.js';

/** Lambda's limit for a synchronous invocation's request and response payloads (6 MB). */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** A function error as Lambda reports it in an invocation's response payload. */
export interface FunctionError {
  errorType: string;
  errorMessage: string;
  stackTrace?: string[];
}

/** The outcome of one invocation: `result` when the handler returned, `error` when it failed. */
export interface InvokeOutcome {
  requestId: string;
  result?: unknown;
  error?: FunctionError;
  /** Handler time measured inside the runtime. */
  durationMs?: number;
  /** Set when this invocation had to start the process first (a cold start). */
  initMs?: number;
}

/** How to run a packaged function locally, like one Lambda execution environment. */
export interface LocalFunctionOptions {
  /** The extracted function code (Lambda's /var/task). */
  codeDir: string;
  /** Extracted layers in order (Lambda's /opt). */
  layerDirs?: readonly string[];
  /** `module.function`, e.g. `app.handler`. */
  handler: string;
  /** Interpreter; default `python3`. */
  python?: string;
  functionName?: string;
  memoryMb?: number;
  /** Seconds an invocation may run before the process is killed and replaced; default 3 like Lambda. */
  timeoutSeconds?: number;
  /** Seconds the handler's import may take; default 10, Lambda's init limit. */
  initTimeoutSeconds?: number;
  region?: string;
  /** Lambda runtime id for AWS_EXECUTION_ENV, e.g. `python3.11`. */
  runtime?: string;
  /** The function's own environment variables. */
  env?: Readonly<Record<string, string>>;
  /** Every line the function writes to stdout or stderr (its log stream). */
  onLog?: (line: string) => void;
  /** Starts the runtime process; default: the host's `python` (a container launcher runs it elsewhere). */
  launch?: FunctionLauncher;
}

/** Init failed (the handler module raised, or cannot be imported): Lambda's Runtime.* init errors. */
export class FunctionInitError extends PipeError {
  readonly error: FunctionError;
  /** The last lines the function wrote to stderr, apart from the message. */
  readonly stderrTail: string[];
  constructor(error: FunctionError, stderrTail: string[]) {
    super('FUNCTION_INIT_FAILED', `The function failed to initialise: ${error.errorType}: ${error.errorMessage}`, {
      hint: error.errorType === 'Sandbox.Timedout'
        ? "Importing the handler module took longer than Lambda's init phase allows: what it loads at import, the model's explainer above all, must fit in it; a model with fewer trees, leaves or reference rows loads faster."
        : 'Fix the error raised while importing the handler module (its traceback is above), then package again.',
    });
    this.error = error;
    this.stderrTail = stderrTail;
  }
}

interface Waiter {
  line(text: string): void;
  exit(description: string): void;
}

interface Sandbox {
  child: FunctionProcess;
  alive: boolean;
  /** The handler was imported: invocations may be written. */
  ready: boolean;
  exited: Promise<void>;
  waiter?: Waiter;
  /** Resolved when the runtime's REPORT line for this request id has gone through onLog. */
  report?: { requestId: string; seen(): void };
  stderrTail: LineTail;
}

const TAIL_LINES = 15;

/**
 * A packaged Python function run in its own process by lambda_runtime.py: imported once, then invoked
 * one event at a time like one Lambda container. A timed-out or crashed process is replaced on the
 * next invocation, paying init again, as Lambda does.
 */
export class LocalFunction {
  private readonly options: LocalFunctionOptions;
  private sandbox?: Sandbox;
  private starting?: Promise<{ initMs: number }>;
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 1;
  private stopped = false;

  constructor(options: LocalFunctionOptions) {
    this.options = options;
  }

  /** Process id of the running function, if any. */
  get pid(): number | undefined {
    return this.sandbox?.alive ? this.sandbox.child.pid : undefined;
  }

  /** Starts the process and imports the handler; rejects with FunctionInitError when that fails. */
  start(): Promise<{ initMs: number }> {
    if (this.stopped) return Promise.reject(stoppedError());
    if (this.sandbox?.alive && this.sandbox.ready) return Promise.resolve({ initMs: 0 });
    this.starting ??= this.spawnSandbox().finally(() => (this.starting = undefined));
    return this.starting;
  }

  /**
   * Invokes the handler with `event`; calls are queued and run one at a time. Rejects only when the
   * function cannot be invoked at all (stopped, request over 6 MB); handler failures are `error`.
   */
  invoke(event: unknown, options: { requestId?: string } = {}): Promise<InvokeOutcome> {
    const run = this.queue.then(() => this.invokeNow(event, options.requestId ?? randomUUID()));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Stops the process (stdin closed, then killed if it lingers) and waits for it to exit. */
  async stop(): Promise<void> {
    this.stopped = true;
    const sandbox = this.sandbox;
    if (sandbox?.alive) {
      // Idle: closing stdin ends it cleanly. Importing or busy: abandoned at once, as Lambda does.
      if (sandbox.waiter || !sandbox.ready) sandbox.child.kill('SIGTERM');
      else sandbox.child.stdin.end();
      const timer = setTimeout(() => sandbox.child.kill('SIGKILL'), 2000);
      await sandbox.exited;
      clearTimeout(timer);
    }
    await this.starting?.catch(() => undefined);
  }

  private async invokeNow(event: unknown, requestId: string): Promise<InvokeOutcome> {
    if (this.stopped) throw stoppedError();
    const eventJson = JSON.stringify(event ?? null);
    const size = Buffer.byteLength(eventJson);
    if (size > MAX_PAYLOAD_BYTES) {
      throw new PipeError('REQUEST_TOO_LARGE', `Request payload of ${size} bytes exceeds Lambda's limit of ${MAX_PAYLOAD_BYTES} bytes`);
    }
    let initMs: number | undefined;
    if (!(this.sandbox?.alive && this.sandbox.ready)) {
      try {
        initMs = (await this.start()).initMs;
      } catch (error) {
        if (error instanceof FunctionInitError) return { requestId, error: error.error };
        throw error;
      }
    }
    const sandbox = this.sandbox!;
    const id = this.nextId++;
    const timeoutSeconds = this.options.timeoutSeconds ?? 3;
    const deadlineMs = Date.now() + timeoutSeconds * 1000;
    // The runtime logs REPORT before it writes the result, but the two pipes are read independently:
    // wait for that line so that an invocation's log lines are all delivered before it resolves.
    const reported = new Promise<void>((seen) => (sandbox.report = { requestId, seen }));
    let timedOut = false;
    const outcome = await new Promise<InvokeOutcome>((resolve, reject) => {
      const timer = setTimeout(() => {
        timedOut = true;
        sandbox.waiter = undefined;
        sandbox.child.kill('SIGKILL');
        const message = `${new Date().toISOString()} ${requestId} Task timed out after ${timeoutSeconds.toFixed(2)} seconds`;
        this.options.onLog?.(message);
        void sandbox.exited.then(() => resolve({ requestId, error: { errorType: 'Sandbox.Timedout', errorMessage: message } }));
      }, timeoutSeconds * 1000);
      sandbox.waiter = {
        line: (text) => {
          clearTimeout(timer);
          sandbox.waiter = undefined;
          resolve(this.parseResponse(text, requestId));
        },
        exit: (description) => {
          clearTimeout(timer);
          if (this.stopped) return reject(stoppedError());
          resolve({ requestId, error: { errorType: 'Runtime.ExitError', errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: ${description}` } });
        },
      };
      sandbox.child.stdin.write(`{"id":${id},"requestId":${JSON.stringify(requestId)},"deadlineMs":${deadlineMs},"event":${eventJson}}\n`);
    });
    // The runtime reports a sys.exit() and then exits: let it go before the next invocation.
    if (outcome.error?.errorType === 'Runtime.ExitError') await sandbox.exited;
    else if (!timedOut) await Promise.race([reported, sandbox.exited]);
    sandbox.report = undefined;
    return initMs === undefined ? outcome : { ...outcome, initMs };
  }

  private parseResponse(text: string, requestId: string): InvokeOutcome {
    const size = Buffer.byteLength(text);
    if (size > MAX_PAYLOAD_BYTES) {
      return {
        requestId,
        error: { errorType: 'Function.ResponseSizeTooLarge', errorMessage: `Response payload size (${size} bytes) exceeded maximum allowed payload size (${MAX_PAYLOAD_BYTES} bytes).` },
      };
    }
    const message = JSON.parse(text) as { result?: unknown; error?: FunctionError; durationMs?: number };
    return message.error ? { requestId, error: message.error, durationMs: message.durationMs } : { requestId, result: message.result, durationMs: message.durationMs };
  }

  private async spawnSandbox(): Promise<{ initMs: number }> {
    const { codeDir, layerDirs = [], handler } = this.options;
    const python = this.options.python ?? 'python3';
    const launch = this.options.launch ?? spawnFunctionProcess;
    const child = await launch({ python, codeDir, layerDirs, handler, timeoutSeconds: this.options.timeoutSeconds ?? 3, env: this.environment() });
    if (this.stopped) {
      // Stopped while a launcher was still starting it: nobody will invoke it.
      child.kill('SIGKILL');
      await child.exited;
      throw stoppedError();
    }
    const sandbox: Sandbox = { child, alive: true, ready: false, exited: Promise.resolve(), stderrTail: new LineTail(TAIL_LINES) };
    sandbox.exited = child.exited.then(({ code, signal, error }) => {
      sandbox.alive = false;
      const waiter = sandbox.waiter;
      sandbox.waiter = undefined;
      waiter?.exit(error ? `cannot run ${python}: ${error.message}` : signal ? `signal: ${signal}` : `exit status ${code}`);
    });
    child.stdin.on('error', () => undefined); // a write to a process that just died: its exit is reported instead
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => sandbox.waiter?.line(line));
    createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => {
      sandbox.stderrTail.push(line);
      this.options.onLog?.(line);
      if (sandbox.report && line.startsWith(`REPORT RequestId: ${sandbox.report.requestId}`)) sandbox.report.seen();
    });
    this.sandbox = sandbox;

    const initTimeoutSeconds = this.options.initTimeoutSeconds ?? 10;
    let initTimedOut = false;
    const initTimer = setTimeout(() => {
      initTimedOut = true;
      child.kill('SIGKILL');
    }, initTimeoutSeconds * 1000);
    const first = await new Promise<{ line: string } | { exit: string }>((resolve) => {
      sandbox.waiter = { line: (line) => resolve({ line }), exit: (exit) => resolve({ exit }) };
    });
    clearTimeout(initTimer);
    sandbox.waiter = undefined;
    if (initTimedOut) {
      await sandbox.exited;
      const message = `INIT_REPORT Init Duration: ${initTimeoutSeconds * 1000} ms Phase: init Status: timeout`;
      this.options.onLog?.(message);
      throw new FunctionInitError({ errorType: 'Sandbox.Timedout', errorMessage: message }, sandbox.stderrTail.get());
    }
    if ('exit' in first && this.stopped) throw stoppedError();
    if ('exit' in first) {
      throw new PipeError('FUNCTION_START_FAILED', `The local function runtime did not start (${first.exit})`, {
        hint: first.exit.startsWith('cannot run')
          ? `Install Python 3 or set \`python\` in pipeline.config.ts to an interpreter that exists.`
          : `Its output:\n${sandbox.stderrTail.get().join('\n')}`,
      });
    }
    const message = JSON.parse(first.line) as { type: string; initMs?: number } & Partial<FunctionError>;
    if (message.type !== 'ready') {
      await sandbox.exited;
      throw new FunctionInitError(
        { errorType: message.errorType ?? 'Runtime.Unknown', errorMessage: message.errorMessage ?? first.line, stackTrace: message.stackTrace },
        sandbox.stderrTail.get(),
      );
    }
    sandbox.ready = true;
    return { initMs: message.initMs ?? 0 };
  }

  private environment(): NodeJS.ProcessEnv {
    const name = this.options.functionName ?? 'function';
    const region = this.options.region ?? 'us-east-1';
    const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
    // Only what Lambda sets (plus PATH): the host's environment, credentials included, stays out.
    return {
      PATH: process.env.PATH,
      LANG: 'C.UTF-8',
      TZ: ':UTC',
      LAMBDA_TASK_ROOT: path.resolve(this.options.codeDir),
      LAMBDA_RUNTIME_DIR: path.dirname(runtimeScript('lambda_runtime.py')),
      _HANDLER: this.options.handler,
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_EXECUTION_ENV: `AWS_Lambda_${this.options.runtime ?? 'python3.11'}`,
      AWS_LAMBDA_FUNCTION_NAME: name,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(this.options.memoryMb ?? 128),
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
      AWS_LAMBDA_LOG_STREAM_NAME: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
      ...this.options.env,
    };
  }
}

function stoppedError(): PipeError {
  return new PipeError('FUNCTION_STOPPED', 'The local function was stopped');
}
