import path from 'node:path';
import { finished } from 'node:stream/promises';
import type Docker from 'dockerode';
import type { ResolvedConfig } from '../config/resolved.js';
import { containerSpec, isAwsCredentialVariable, type AttachedContainer } from '../runners/docker-container.js';
import { launchCommand, type FunctionLauncher, type LaunchRequest, type ProcessExit } from './function-process.js';
import { runtimeScript } from './runtime-files.js';

/** Where the function sees its code, its layer and the runtime script: Lambda's own paths. */
const TASK_ROOT = '/var/task';
const LAYER_ROOT = '/opt';
const RUNTIME_DIR = '/var/runtime-pipe';

/** The part of DockerRunner a launcher needs (a test can pass a stand-in). */
export interface AttachedContainerStarter {
  readonly image: string;
  startAttached(spec: Docker.ContainerCreateOptions): Promise<AttachedContainer>;
}

/**
 * Lambda's environment with container paths, without credentials even when the function's own env names
 * them; the host's PATH stays out so the image's own applies.
 */
function containerEnv(env: LaunchRequest['env']): string[] {
  const merged: Record<string, string | undefined> = { ...env, LAMBDA_TASK_ROOT: TASK_ROOT, LAMBDA_RUNTIME_DIR: RUNTIME_DIR };
  delete merged.PATH;
  return Object.entries(merged)
    .filter((entry): entry is [string, string] => entry[1] !== undefined && !isAwsCredentialVariable(entry[0]))
    .map(([name, value]) => `${name}=${value}`);
}

/** The create request: the build container's user, labels and HOME, with the package mounted read-only. */
function serveContainerSpec(config: ResolvedConfig, image: string, request: LaunchRequest): Docker.ContainerCreateOptions {
  const layers = request.layerDirs.length > 1 ? request.layerDirs.map((_, i) => `${LAYER_ROOT}/layer-${i + 1}`) : request.layerDirs.map(() => LAYER_ROOT);
  const command = [request.python, '-I', '-S', ...launchCommand(request, TASK_ROOT, layers, (name) => `${RUNTIME_DIR}/${name}`)];
  const base = containerSpec(config, image, { command, title: request.script ? request.script.name : `serve ${request.handler}` }, []);
  return {
    ...base,
    WorkingDir: TASK_ROOT,
    Env: containerEnv(request.env),
    HostConfig: {
      ...base.HostConfig,
      Binds: [
        `${path.resolve(request.codeDir)}:${TASK_ROOT}:ro`,
        ...request.layerDirs.map((dir, i) => `${path.resolve(dir)}:${layers[i]}:ro`),
        `${path.dirname(runtimeScript('lambda_runtime.py'))}:${RUNTIME_DIR}:ro`,
      ],
      // A served function answers local HTTP requests through stdin/stdout and needs no network of its
      // own: none, unless the config gives the build containers one (a proxy, a local service).
      NetworkMode: config.docker.network ?? 'none',
    },
  };
}

/**
 * Runs the packaged function inside the build image (whose Python matches the Lambda runtime) instead of
 * with the host's Python: one container per execution environment, removed when it ends.
 */
export function dockerLauncher(runner: AttachedContainerStarter, config: ResolvedConfig): FunctionLauncher {
  return async (request) => {
    const container = await runner.startAttached(serveContainerSpec(config, runner.image, request));
    let sent: string | null = null;
    const exited = container.exited.then(async (code): Promise<ProcessExit> => {
      await Promise.all([finished(container.stdout).catch(() => undefined), finished(container.stderr).catch(() => undefined)]);
      return sent && code !== 0 ? { code, signal: sent } : { code, signal: null };
    });
    return {
      stdin: container.stdin,
      stdout: container.stdout,
      stderr: container.stderr,
      // The runtime is the container's PID 1, which ignores SIGTERM without a handler: a stop that asks
      // for SIGTERM means "abandon it now", so both become SIGKILL.
      kill: () => {
        sent = 'SIGKILL';
        void container.kill('SIGKILL');
      },
      exited,
    };
  };
}
