import Docker from 'dockerode';
import { PipeError } from '../errors.js';

/** Where the Docker API is expected: from DOCKER_HOST, or the usual socket. */
export interface EngineLocation {
  /** As the user would write it: "unix:///var/run/docker.sock", "tcp://10.0.0.2:2375". */
  where: string;
  options: Docker.DockerOptions;
}

const DEFAULT_SOCKET = '/var/run/docker.sock';

/** Reads DOCKER_HOST (unix:// or tcp://; a bare host:port means tcp) or falls back to the usual socket. */
export function engineLocation(env: NodeJS.ProcessEnv = process.env): EngineLocation {
  const host = env.DOCKER_HOST?.trim();
  if (!host) return { where: `unix://${DEFAULT_SOCKET}`, options: { socketPath: DEFAULT_SOCKET } };
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length) || DEFAULT_SOCKET;
    return { where: `unix://${socketPath}`, options: { socketPath } };
  }
  let url: URL;
  try {
    url = new URL(host.includes('://') ? host : `tcp://${host}`);
  } catch (cause) {
    throw new PipeError('DOCKER_HOST_INVALID', `DOCKER_HOST is not an engine address: ${host}`, {
      hint: 'Use unix:///path/to/docker.sock or tcp://host:port.',
      cause,
    });
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PipeError('DOCKER_HOST_INVALID', `DOCKER_HOST scheme ${url.protocol} is not supported: ${host}`, {
      hint: 'Use unix:///path/to/docker.sock or tcp://host:port.',
    });
  }
  const tls = url.protocol === 'https:' || env.DOCKER_TLS_VERIFY === '1' || url.port === '2376';
  return {
    where: host,
    options: { host: url.hostname, port: url.port || (tls ? 2376 : 2375), protocol: tls ? 'https' : 'http' },
  };
}

/** A dockerode client for the engine at `location`, with no request timeout (builds run for minutes). */
export function connectEngine(location: EngineLocation = engineLocation()): Docker {
  return new Docker(location.options);
}

function unavailable(location: EngineLocation, cause?: unknown): PipeError {
  const reason = cause instanceof Error ? ` (${cause.message})` : '';
  return new PipeError(
    'DOCKER_UNAVAILABLE',
    `no Docker engine at ${location.where}: start Docker, set DOCKER_HOST, or use --runner local${reason}`,
    { hint: 'On Linux without Docker, scripts/ensure-podman.sh serves the Docker API from podman.', cause },
  );
}

/** Pings the engine; a dead socket or refused connection becomes a DOCKER_UNAVAILABLE error. */
export async function pingEngine(docker: Docker, location: EngineLocation, timeoutMs = 5000): Promise<void> {
  try {
    // dockerode honours abortSignal on ping; its type declarations omit the options argument.
    const ping = docker.ping.bind(docker) as unknown as (opts: { abortSignal: AbortSignal }) => Promise<unknown>;
    await ping({ abortSignal: AbortSignal.timeout(timeoutMs) });
  } catch (cause) {
    throw unavailable(location, cause);
  }
}

/** True when a Docker engine answers quickly at DOCKER_HOST or the usual socket: runner choice "auto". */
export async function dockerEngineAnswers(timeoutMs = 1500): Promise<boolean> {
  try {
    const location = engineLocation();
    await pingEngine(connectEngine(location), location, timeoutMs);
    return true;
  } catch {
    return false;
  }
}
