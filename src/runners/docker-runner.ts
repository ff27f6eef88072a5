import os from 'node:os';
import { PassThrough, type Duplex, type Readable } from 'node:stream';
import { json } from 'node:stream/consumers';
import type Docker from 'dockerode';
import type { ResolvedConfig } from '../config/resolved.js';
import { CommandError, InternalError, InterruptedError, PipeError } from '../errors.js';
import type { StepReporter } from '../reporter/reporter.js';
import { formatCommand } from '../util/format-command.js';
import { dockerLauncher } from '../runtime/docker-launch.js';
import { containerSpec, type AttachedContainer } from './docker-container.js';
import { containerStartError } from './container-start-error.js';
import { connectEngine, engineLocation, pingEngine, type EngineLocation } from './docker-engine.js';
import { checkImagePython, engineMessage, ensureImage, localImageId } from './docker-image.js';
import { FrameDemuxer } from './docker-output.js';
import { environmentKey } from './env-key.js';
import { LineSplitter, LineTail } from './stream-lines.js';
import type { FunctionHost, RunIo, RunResult, RunStep, Runner } from './runner.js';
import { knownImagePython, rememberImagePython } from './image-python-cache.js';

/** How long a finished container's output stream may lag behind its exit before it is cut off. */
const OUTPUT_DRAIN_MS = 2000;

export interface DockerRunnerOptions {
  config: ResolvedConfig;
  /** Image for this run only (`--image`); default `config.image`. */
  image?: string;
  /** Receives pull progress when the image must be pulled (createDockerRunner). */
  reporter?: StepReporter;
  signal?: AbortSignal;
  /** Where DOCKER_HOST is read from; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** false: accept an image without Python (steps that run no Python, tests); default true. */
  requirePython?: boolean;
}

/** What the planner records for an image the engine does not have yet. */
const IMAGE_NOT_PRESENT = 'not present locally (would be pulled)';

interface Captured {
  stdout: string;
  stderr: string;
}

const silentReporter: StepReporter = {
  line() {},
  progress() {},
  step: () => silentReporter,
  done() {},
  fail() {},
};

/**
 * Runs steps in throwaway containers of one build image through the Docker Engine API (Docker, or podman
 * serving it): the project bind-mounted at the mount path, the invoking user's uid:gid, output streamed
 * line by line, the container removed whatever happens.
 */
export class DockerRunner implements Runner {
  readonly kind = 'docker' as const;
  readonly projectDir: string;
  readonly envKey: string;
  python = 'python3';
  pythonVersion = '';
  private id?: string;
  private prepared?: Promise<void>;
  private readonly live = new Set<Docker.Container>();

  constructor(
    private readonly docker: Docker,
    readonly location: EngineLocation,
    private readonly config: ResolvedConfig,
    readonly image: string,
    private readonly requirePython = true,
  ) {
    this.projectDir = config.docker.mountPath;
    this.envKey = environmentKey('docker', image);
  }

  /** The image's id; known once prepared. */
  get imageId(): string {
    if (!this.id) throw new InternalError(`docker runner for ${this.image} used before prepare()`);
    return this.id;
  }

  describe(): string {
    return `docker (${this.image})`;
  }

  /**
   * The image id, asked of the engine (an inspect: no pull, no container). The image determines its
   * Python, so the id is the whole identity.
   */
  async identify(): Promise<{ tools: Record<string, string>; ready: boolean }> {
    const id = this.id ?? (await localImageId(this.docker, this.image));
    return { tools: { imageId: id ?? IMAGE_NOT_PRESENT }, ready: id !== undefined };
  }

  /**
   * Pulls the image when the engine lacks it (progress into `reporter`), then finds its Python, starting
   * a container only for an image not seen before (remembered in .pipe/cache), and checks it against the
   * Lambda runtime.
   */
  prepare(io: RunIo): Promise<void> {
    this.prepared ??= (async () => {
      this.id = await ensureImage(this.docker, this.image, io.reporter, io.signal);
      if (!this.requirePython) return;
      const known = knownImagePython(this.config.root, this.id);
      if (known) {
        this.python = known.python;
        this.pythonVersion = known.version;
      } else {
        await this.detectPython(io.signal);
        await rememberImagePython(this.config.root, this.id, { python: this.python, version: this.pythonVersion });
      }
      checkImagePython(this.image, this.pythonVersion, this.config.runtime);
    })();
    return this.prepared;
  }

  /** On this runner a served function runs in the build image, whose Python is the Lambda runtime's. */
  async functionHost(): Promise<FunctionHost> {
    return { launch: dockerLauncher(this, this.config), python: this.python, where: `in docker ${this.image}` };
  }

  /** Finds the image's interpreter (python3, else python) and its version. */
  async detectPython(signal: AbortSignal): Promise<string> {
    let lastError: unknown;
    for (const python of ['python3', 'python']) {
      try {
        const out = await this.run({ command: [python, '--version'], title: `${python} --version` }, { reporter: silentReporter, signal });
        const version = /Python\s+(\d+\.\d+(?:\.\d+)?)/.exec(`${out.stdout}\n${out.stderr}`)?.[1];
        if (!version) throw new PipeError('IMAGE_NO_PYTHON', `${python} --version in ${this.image} printed no version`);
        this.python = python;
        this.pythonVersion = version;
        return version;
      } catch (error) {
        // Only a missing executable means "try the next name"; a container that could not start, or an
        // interpreter that fails, is reported as what it is.
        if (!(error instanceof CommandError) || error.exitCode !== 127) throw error;
        lastError = error;
      }
    }
    throw new PipeError('IMAGE_NO_PYTHON', `image ${this.image} has no python3 or python on its PATH`, {
      hint: `Use a Python build image for the runtime, such as public.ecr.aws/sam/build-${this.config.runtime} (image in the config or --image).`,
      cause: lastError,
    });
  }

  async exec(step: RunStep, io: RunIo): Promise<RunResult> {
    const { stdout } = await this.run(step, io);
    return { stdout };
  }

  /**
   * Creates and starts a container from `spec` with stdin open and attached: the caller speaks to it
   * over stdin/stdout for as long as it runs. Removed once it exits, on a failed start, and on dispose.
   */
  async startAttached(spec: Docker.ContainerCreateOptions): Promise<AttachedContainer> {
    const command = formatCommand(spec.Cmd ?? []);
    const where = `docker ${this.image}`;
    const container = await this.docker
      .createContainer({ ...spec, Tty: false, OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true, AttachStderr: true })
      .catch((error: unknown) => {
        throw new PipeError('CONTAINER_CREATE_FAILED', `could not create a container from ${this.image}: ${engineMessage(error)}`, { cause: error });
      });
    this.live.add(container);
    try {
      const stream = await attachStdin(this.docker, container.id).catch((error: unknown) => {
        throw containerStartError(error, command, where);
      });
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const demuxer = new FrameDemuxer((name, chunk) => (name === 'stdout' ? stdout : stderr).write(chunk));
      const drained = new Promise<void>((resolve) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', () => resolve());
      });
      stream.on('data', (data: Buffer) => demuxer.push(data));
      const waiting = new AbortController();
      const exit = await waitForNextExit(this.docker, container.id, waiting.signal).catch((error: unknown) => {
        stream.destroy();
        throw containerWaitError(error, command, where);
      });
      try {
        await container.start();
      } catch (error) {
        waiting.abort();
        stream.destroy();
        throw containerStartError(error, command, where);
      }
      const exited = (async () => {
        const code = await exit.exitCode.then((c) => c, () => null);
        await drainWithin(drained, stream, OUTPUT_DRAIN_MS);
        stdout.end();
        stderr.end();
        // A removal that fails here is tried again, and reported, by dispose().
        await this.remove(container).catch(() => this.live.add(container));
        return code;
      })();
      return {
        stdin: stream,
        stdout,
        stderr,
        kill: (signal) => container.kill({ signal }).then(() => undefined, () => undefined),
        exited,
      };
    } catch (error) {
      await this.remove(container);
      throw error;
    }
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.live].map((container) => this.remove(container)));
  }

  private async run(step: RunStep, io: RunIo): Promise<Captured> {
    if (io.signal.aborted) throw new InterruptedError();
    const warnings: string[] = [];
    const spec = containerSpec(this.config, this.image, step, warnings);
    for (const warning of warnings) io.reporter.line(warning, 'warn');

    const where = `docker ${this.image}`;
    const command = formatCommand(step.command);
    const captured: Captured = { stdout: '', stderr: '' };
    const tail = new LineTail(20);
    const splitters = {
      stdout: new LineSplitter((line) => io.reporter.line(line, 'stdout')),
      stderr: new LineSplitter((line) => {
        tail.push(line);
        io.reporter.line(line, 'stderr');
      }),
    };
    const demuxer = new FrameDemuxer((stream, chunk) => {
      captured[stream] += chunk.toString('utf8');
      splitters[stream].push(chunk);
    });

    const container = await this.docker.createContainer(spec).catch((error: unknown) => {
      throw new PipeError('CONTAINER_CREATE_FAILED', `could not create a container from ${this.image}: ${engineMessage(error)}`, {
        hint: /no such image/i.test(engineMessage(error)) ? 'The image was removed while pipe ran; run again to pull it.' : undefined,
        cause: error,
      });
    });
    this.live.add(container);
    const onAbort = () => {
      container.kill().catch(() => undefined);
    };
    // Ends a wait the engine would never answer: a container that never started.
    const waiting = new AbortController();
    try {
      // podman creates the OCI container on attach: a missing executable can fail here already.
      const stream = (await container
        .attach({ stream: true, stdout: true, stderr: true })
        .catch((error: unknown) => {
          throw containerStartError(error, command, where);
        })) as Duplex;
      const drained = new Promise<void>((resolve) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', () => resolve());
      });
      stream.on('data', (data: Buffer) => demuxer.push(data));

      io.signal.addEventListener('abort', onAbort, { once: true });
      if (io.signal.aborted) throw new InterruptedError();
      const exit = await waitForNextExit(this.docker, container.id, waiting.signal).catch((error: unknown) => {
        throw containerWaitError(error, command, where);
      });
      try {
        await container.start();
      } catch (error) {
        throw containerStartError(error, command, where);
      }
      const exitCode = await exit.exitCode;
      await drainWithin(drained, stream, OUTPUT_DRAIN_MS);
      splitters.stdout.end();
      splitters.stderr.end();

      if (io.signal.aborted) throw new InterruptedError();
      if (exitCode !== 0) {
        throw new CommandError({ command, exitCode, signal: signalName(exitCode), where, stderrTail: tail.get() });
      }
      return captured;
    } finally {
      io.signal.removeEventListener('abort', onAbort);
      waiting.abort();
      await this.remove(container);
    }
  }

  private async remove(container: Docker.Container): Promise<void> {
    try {
      await container.remove({ force: true, v: true });
    } catch (error) {
      // Already gone (removed by an earlier call or by the engine): nothing left to clean up.
      if (!/no such container|404/i.test(engineMessage(error))) throw error;
    } finally {
      this.live.delete(container);
    }
  }
}

/**
 * Attaches to stdin, stdout and stderr over a hijacked connection. `container.attach` cannot be used:
 * docker-modem writes a POST's options as its body, and podman hands a hijacked request's body to the
 * container's stdin. Here the options go in the query and the body is empty but written (an empty
 * buffer with Content-Length 0), so the headers go out; the request stays open for stdin.
 */
function attachStdin(docker: Docker, id: string): Promise<Duplex> {
  return dial(docker, {
    path: `/containers/${id}/attach?`,
    method: 'POST',
    isStream: true,
    hijack: true,
    openStdin: true,
    file: Buffer.alloc(0),
    statusCodes: { 101: true, 200: true, 404: 'no such container', 409: 'container not running', 500: 'server error' },
    options: { _query: { stream: true, stdin: true, stdout: true, stderr: true } },
  }) as Promise<Duplex>;
}

/**
 * Asks the engine for the container's next exit, as the docker CLI does before it starts a container:
 * resolves once the engine has taken the request (its response headers), so a container started after
 * that cannot exit unseen, with the exit code to come. The default condition ('not-running') would not
 * need the ordering, but podman's compat API before 4.5 answers it by polling the container's state
 * without pause, a core kept busy for as long as a step or a served function runs (podman issue 18150);
 * 'next-exit' it answers from the container's events. Aborting `signal` drops the request: the answer
 * for a container that never started would never come.
 */
async function waitForNextExit(docker: Docker, id: string, signal: AbortSignal): Promise<{ exitCode: Promise<number> }> {
  const response = await dial(docker, {
    path: `/containers/${id}/wait?`,
    method: 'POST',
    isStream: true,
    abortSignal: signal,
    statusCodes: { 200: true, 400: 'bad parameter', 404: 'no such container', 500: 'server error' },
    options: { condition: 'next-exit' },
  });
  const exitCode = json(response as Readable).then((body) => (body as { StatusCode: number }).StatusCode);
  // Not awaited when the start fails and the request is dropped.
  exitCode.catch(() => undefined);
  return { exitCode };
}

/** One request to the engine, answered with its response stream (or the upgraded connection). */
function dial(docker: Docker, options: Parameters<Docker['modem']['dial']>[0]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(options, (error: unknown, response: unknown) => (error ? reject(error) : resolve(response)));
  });
}

/** The engine refused to report a container's exit: the container is not started. */
function containerWaitError(error: unknown, command: string, where: string): PipeError {
  return new PipeError('CONTAINER_WAIT_FAILED', `the container engine would not wait for a container's exit (${where}) for ${command}: ${engineMessage(error)}`, {
    hint: 'pipe waits with condition=next-exit, which Docker Engine API 1.30 (Docker 17.06) and later and podman answer: update the engine.',
    cause: error,
  });
}

/** Waits for the attach stream to end; an engine that keeps it open after exit gets it cut after `ms`. */
async function drainWithin(drained: Promise<void>, stream: Duplex, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([drained, timeout]);
  clearTimeout(timer);
  stream.destroy();
}

/** 137 -> "SIGKILL": a container process killed by a signal exits with 128 + its number. */
function signalName(exitCode: number): string | undefined {
  if (exitCode <= 128) return undefined;
  const entry = Object.entries(os.constants.signals).find(([, number]) => number === exitCode - 128);
  return entry?.[0];
}

/**
 * Connects to the engine (DOCKER_HOST or the usual socket) and checks that it answers: a runner ready to
 * identify, not yet prepared (nothing pulled, no container started).
 */
export async function connectDockerRunner(options: DockerRunnerOptions): Promise<DockerRunner> {
  const location = engineLocation(options.env);
  const docker = connectEngine(location);
  await pingEngine(docker, location);
  return new DockerRunner(docker, location, options.config, options.image ?? options.config.image, options.requirePython !== false);
}

/** A prepared runner: connected, the build image there (pulled with progress), its Python checked. */
export async function createDockerRunner(options: DockerRunnerOptions): Promise<DockerRunner> {
  const runner = await connectDockerRunner(options);
  await runner.prepare({ reporter: options.reporter ?? silentReporter, signal: options.signal ?? new AbortController().signal });
  return runner;
}
