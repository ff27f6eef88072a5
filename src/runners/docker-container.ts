import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type Docker from 'dockerode';
import type { ResolvedConfig } from '../config/resolved.js';
import { InternalError } from '../errors.js';
import { formatCommand } from '../util/format-command.js';
import type { RunStep } from './runner.js';

/** HOME inside build containers: a tmpfs writable by any uid, so pip and friends never touch the image. */
const CONTAINER_HOME = '/tmp/pipe-home';
/** Labels every pipe container carries, so leftovers can be found (`docker ps -a --filter label=...`). */
export const PROJECT_LABEL = 'dev.pipe.project';
const STEP_LABEL = 'dev.pipe.step';

/** Variables that carry AWS credentials or point at them (a profile, a credentials file, a token URI). */
const AWS_CREDENTIALS = /^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|SECURITY_TOKEN|PROFILE|DEFAULT_PROFILE|SHARED_CREDENTIALS_FILE|CONFIG_FILE|WEB_IDENTITY_TOKEN_FILE|ROLE_ARN|ROLE_SESSION_NAME|CONTAINER_.*)$/i;

/** The one rule that keeps AWS credentials out of every container pipe starts, whatever the config says. */
export function isAwsCredentialVariable(name: string): boolean {
  return AWS_CREDENTIALS.test(name);
}

/** "uid:gid" of the invoking user on POSIX systems, so files written into the project are theirs. */
function invokingUser(): string | undefined {
  if (typeof process.getuid !== 'function' || typeof process.getgid !== 'function') return undefined;
  return `${process.getuid()}:${process.getgid()}`;
}

function isUnder(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** The config's extra binds with host paths resolved against the project root; ~/.aws is refused. */
function resolveBinds(config: ResolvedConfig, warnings: string[]): string[] {
  const awsDir = path.join(os.homedir(), '.aws');
  const binds: string[] = [];
  for (const bind of config.docker.binds) {
    const [host = '', target = '', mode] = bind.split(':');
    const hostPath = path.resolve(config.root, host);
    if (isUnder(hostPath, awsDir) || isUnder(awsDir, hostPath) || /(^|\/)\.aws(\/|$)/.test(target)) {
      warnings.push(`not mounting ${bind}: AWS credentials never go into build containers`);
      continue;
    }
    binds.push(mode ? `${hostPath}:${target}:${mode}` : `${hostPath}:${target}`);
  }
  return binds;
}

/** Environment of a build container: config env, then the step's env, then HOME; AWS credentials dropped. */
export function containerEnv(config: ResolvedConfig, step: RunStep, warnings: string[]): string[] {
  const merged: Record<string, string> = { ...config.docker.env, ...step.env, HOME: CONTAINER_HOME };
  const dropped = Object.keys(merged).filter(isAwsCredentialVariable);
  if (dropped.length) {
    warnings.push(`not passing ${dropped.sort().join(', ')} to the build container: AWS credentials never go into build containers`);
  }
  return Object.entries(merged)
    .filter(([name]) => !isAwsCredentialVariable(name))
    .map(([name, value]) => `${name}=${value}`);
}

/** Working directory in the container: the mount path joined with the step's project-relative cwd. */
function containerWorkingDir(mountPath: string, cwd: string | undefined): string {
  const dir = path.posix.resolve(mountPath, cwd ?? '.');
  if (!isUnder(dir, mountPath)) throw new InternalError(`step cwd ${cwd} is outside the project`);
  return dir;
}

/** The create-container request for one step. */
export function containerSpec(
  config: ResolvedConfig,
  image: string,
  step: RunStep,
  warnings: string[],
): Docker.ContainerCreateOptions {
  const mountPath = config.docker.mountPath;
  const user = invokingUser();
  return {
    Image: image,
    Cmd: [...step.command],
    WorkingDir: containerWorkingDir(mountPath, step.cwd),
    Env: containerEnv(config, step, warnings),
    ...(user ? { User: user } : {}),
    Labels: { [PROJECT_LABEL]: config.root, [STEP_LABEL]: step.title ?? formatCommand(step.command) },
    Tty: false,
    OpenStdin: false,
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    HostConfig: {
      Binds: [`${config.root}:${mountPath}`, ...resolveBinds(config, warnings)],
      Tmpfs: { [CONTAINER_HOME]: 'rw,exec,nosuid,nodev,mode=1777' },
      ...(config.docker.network ? { NetworkMode: config.docker.network } : {}),
    },
  };
}

/** A long-lived container attached to stdin, stdout and stderr (a served function). */
export interface AttachedContainer {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Sends a signal to the container's main process; a container already gone is not an error. */
  kill(signal: string): Promise<void>;
  /**
   * The exit code (null when the engine lost it), once the container has exited and stdout/stderr have
   * been ended; the container is removed by then.
   */
  readonly exited: Promise<number | null>;
}
