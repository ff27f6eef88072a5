import path from 'node:path';
import type { ResolvedConfig } from '../config/resolved.js';
import { PipeError } from '../errors.js';
import type { StepReporter } from '../reporter/reporter.js';
import { spawnFunctionProcess } from '../runtime/function-process.js';
import type { FunctionHost, RunIo, RunResult, Runner, RunStep } from './runner.js';
import { environmentKey } from './env-key.js';
import { spawnStreaming } from './spawn-streaming.js';

const quiet: StepReporter = { line() {}, progress() {}, step: () => quiet, done() {}, fail() {} };

/** Runs steps on the host, for machines without Docker: the same steps, with the configured Python. */
export class LocalRunner implements Runner {
  readonly kind = 'local' as const;
  readonly projectDir: string;
  readonly python: string;
  readonly envKey: string;
  pythonVersion = '';
  private versions?: Promise<Record<string, string>>;

  constructor(config: ResolvedConfig) {
    this.projectDir = config.root;
    this.python = config.python;
    this.envKey = environmentKey('local', config.python);
  }

  describe(): string {
    return `local (${this.python})`;
  }

  /** Asks the interpreter (once) for its path, version and machine: a read, nothing installed. */
  async identify(signal: AbortSignal): Promise<{ tools: Record<string, string>; ready: boolean }> {
    this.versions ??= this.exec(
      { command: [this.python, '-c', 'import sys, platform; print(sys.executable, platform.python_version(), platform.machine())'] },
      { signal, reporter: quiet },
    ).then(
      ({ stdout }) => {
        const [executable = '', version = '', machine = ''] = stdout.trim().split(' ');
        this.pythonVersion = version;
        return { runner: 'local', python: version, pythonPath: executable, machine };
      },
      (error: unknown) => {
        throw error instanceof PipeError && error.code === 'COMMAND_NOT_FOUND'
          ? new PipeError('PYTHON_NOT_FOUND', `Python interpreter not found: ${this.python}`, {
              hint: 'Install Python 3 (3.11 matches the python3.11 runtime), set "python" in pipeline.config.ts, or use --runner docker.',
            })
          : error;
      },
    );
    return { tools: await this.versions, ready: true };
  }

  async prepare(io: RunIo): Promise<void> {
    await this.identify(io.signal);
  }

  exec(step: RunStep, io: RunIo): Promise<RunResult> {
    return spawnStreaming({
      argv: step.command,
      cwd: step.cwd ? path.join(this.projectDir, step.cwd) : this.projectDir,
      env: { ...step.env, PYTHONUNBUFFERED: '1' },
      signal: io.signal,
      reporter: io.reporter,
      where: 'local',
    });
  }

  async functionHost(): Promise<FunctionHost> {
    return { launch: spawnFunctionProcess, python: this.python, where: `with ${this.python}` };
  }

  async dispose(): Promise<void> {}
}
