import Docker from 'dockerode';
import { PROJECT_LABEL } from '../../src/runners/docker-container.js';
import { engineLocation } from '../../src/runners/docker-engine.js';

/** The local Python build image that scripts/ensure-build-image.sh makes (stand-in for AWS's). */
export const BUILD_IMAGE = 'localhost/pipe-build-python3.11:latest';
export const DOCKER_HOST = process.env.DOCKER_HOST ?? 'unix:///tmp/podman.sock';

export const engine = (): Docker => new Docker(engineLocation({ DOCKER_HOST }).options);

/**
 * Why container tests cannot run here, or undefined when they can. In CI the engine is part of the
 * setup (scripts/test.sh), so there it is never a reason to skip.
 */
export async function engineSkipReason(): Promise<string | undefined> {
  if (process.env.CI === 'true') return undefined;
  const docker = engine();
  const ok = await docker.ping().then(() => true, () => false);
  if (!ok) return `no Docker engine at ${DOCKER_HOST}`;
  return docker.getImage(BUILD_IMAGE).inspect().then(() => undefined, () => `image ${BUILD_IMAGE} missing`);
}

/** Containers pipe left behind for a project directory (there should be none). */
export async function projectContainers(dir: string): Promise<Docker.ContainerInfo[]> {
  return engine().listContainers({ all: true, filters: { label: [`${PROJECT_LABEL}=${dir}`] } });
}
