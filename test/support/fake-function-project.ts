import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './cli.js';
import { linkSharedEnv } from './shared-env.js';

/**
 * A project whose training script and handler are stand-ins needing nothing but Python's standard
 * library (test/fixtures/fake-function): env, model and package take seconds on the local runner, so
 * the CLI's serve, invoke and clean can be tested end to end without training a real model. With
 * `sharedEnv`, its environments are already built and env is up to date (see linkSharedEnv).
 */
export async function makeFakeFunctionProject(
  config: Record<string, unknown> = {},
  opts: { sharedEnv?: boolean } = {},
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-fake-'));
  await cp(path.join(REPO_ROOT, 'test', 'fixtures', 'fake-function'), dir, { recursive: true });
  const full = { app: 'fake', runner: 'local', runtime: 'python3.11', buildEnv: { PIP_RETRIES: '0' }, ...config };
  await writeFile(path.join(dir, 'pipeline.config.ts'), `export default ${JSON.stringify(full, null, 2)};\n`);
  const cleanup = () => rm(dir, { recursive: true, force: true });
  if (opts.sharedEnv) await linkSharedEnv(dir, full).catch(async (error: unknown) => {
    await cleanup();
    throw error;
  });
  return { dir, cleanup };
}
