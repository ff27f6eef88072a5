import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './cli.js';
import { linkSharedEnv } from './shared-env.js';

/** Binds and env that let pip install offline inside the build image from this machine's wheels. */
export const OFFLINE_PIP_DOCKER = {
  binds: ['/opt/wheels:/opt/wheels:ro', '/opt/pypi:/opt/pypi:ro', '/opt/pypi-more:/opt/pypi-more:ro'],
  env: {
    PIP_INDEX_URL: 'file:///opt/pypi/simple',
    PIP_EXTRA_INDEX_URL: 'file:///opt/pypi-more/simple',
    PIP_FIND_LINKS: '/opt/wheels',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
  },
};

/**
 * A copy of this repository's example application (python/, handler/) in a temporary directory, with
 * its own pipeline.config.ts holding `config` (a plain object: the copy does not resolve 'pipe').
 * With `sharedEnv`, its environments are already built and env is up to date (see linkSharedEnv):
 * for tests about what comes after env.
 */
export async function makeExampleProject(
  config: Record<string, unknown>,
  opts: { sharedEnv?: boolean } = {},
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-example-'));
  const skip = (src: string) => !/(__pycache__|\.pytest_cache)/.test(src);
  await cp(path.join(REPO_ROOT, 'python'), path.join(dir, 'python'), { recursive: true, filter: skip });
  await cp(path.join(REPO_ROOT, 'handler'), path.join(dir, 'handler'), { recursive: true, filter: skip });
  await writeFile(path.join(dir, 'pipeline.config.ts'), `export default ${JSON.stringify(config, null, 2)};\n`);
  const cleanup = () => rm(dir, { recursive: true, force: true });
  if (opts.sharedEnv) await linkSharedEnv(dir, config).catch(async (error: unknown) => {
    await cleanup();
    throw error;
  });
  return { dir, cleanup };
}
