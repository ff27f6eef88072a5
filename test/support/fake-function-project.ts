import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './cli.js';

/**
 * A project whose training script and handler are stand-ins needing nothing but Python's standard
 * library (test/fixtures/fake-function): env, model and package take seconds on the local runner, so
 * the CLI's serve, invoke and clean can be tested end to end without training a real model.
 */
export async function makeFakeFunctionProject(config: Record<string, unknown> = {}): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-fake-'));
  await cp(path.join(REPO_ROOT, 'test', 'fixtures', 'fake-function'), dir, { recursive: true });
  const full = { app: 'fake', runner: 'local', runtime: 'python3.11', buildEnv: { PIP_RETRIES: '0' }, ...config };
  await writeFile(path.join(dir, 'pipeline.config.ts'), `export default ${JSON.stringify(full, null, 2)};\n`);
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
