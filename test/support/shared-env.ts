import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, runPipe } from './cli.js';

/** The config keys that decide what `pipe env` builds and under which environment key. */
const ENV_SETTINGS = ['runtime', 'architecture', 'runner', 'python', 'image', 'buildEnv', 'docker'] as const;

/**
 * Where the seed projects live. scripts/test.sh gives each run a directory of its own and removes it
 * afterwards; a test file run by hand keeps its seeds in the temp directory for the next run.
 */
const seedsRoot = (): string => process.env.PIPE_TEST_ENV_CACHE ?? path.join(os.tmpdir(), 'pipe-test-envs');

/**
 * Gives the project at `dir` (default paths) the environments that `pipe env` builds for its requirement
 * files under `config`'s environment settings, so that there env is up to date and skipped.
 *
 * Building them is most of the time of a test that trains the example (a venv with numpy, scipy, pandas,
 * scikit-learn, shap, lightgbm), and such tests all build the same thing. The real CLI builds them once,
 * in a seed project holding only the requirement files and those settings, in a directory named by
 * their content; each test project gets a hard-linked copy of the seed's build/ and the env task's state.
 * The env fingerprint holds file contents, settings and the interpreter, never the project's path, so
 * pipe itself decides that the copy is up to date. Test files asking at the same time wait on the seed
 * project's lock, and all but the first find env up to date there.
 *
 * The seed is also packaged, with the fake function's training script and handler (test/fixtures/
 * fake-function): the copy's build/package is then a last package whose layer.zip holds the same
 * runtime deps, which the package task keeps instead of zipping them again (seconds per project).
 * Only env's state is copied: every other task of the project runs as in a project of its own.
 */
export async function linkSharedEnv(dir: string, config: Record<string, unknown>): Promise<void> {
  const seed = await seedProject(dir, config);
  const built = await runPipe(['package'], { cwd: seed });
  if (built.code !== 0) throw new Error(`pipe package in the seed project ${seed} exited ${built.code}:\n${built.stdout}${built.stderr}`);
  await linkTree(path.join(seed, 'build'), path.join(dir, 'build'));
  const seedState = path.join(seed, '.pipe', 'state');
  const state = path.join(dir, '.pipe', 'state');
  await mkdir(state, { recursive: true });
  for (const name of await readdir(seedState)) {
    if (name.startsWith('env@')) await copyFile(path.join(seedState, name), path.join(state, name));
  }
}

/** The seed project for `config`'s environment settings and the requirement files of the project at `dir`, created once. */
async function seedProject(dir: string, config: Record<string, unknown>): Promise<string> {
  const settings = Object.fromEntries(ENV_SETTINGS.filter((key) => config[key] !== undefined).map((key) => [key, config[key]]));
  // The estimator matters to env only when it adds a requirements file (xgboost).
  const estimator = (config.model as { estimator?: string } | undefined)?.estimator;
  const seedConfig = { app: 'shared-env', ...settings, ...(estimator === 'xgboost' && { model: { estimator } }) };
  const files: Record<string, string> = { 'pipeline.config.ts': `export default ${JSON.stringify(seedConfig, null, 2)};\n` };
  // The env task's inputs.
  for (const name of (await readdir(path.join(dir, 'python'))).filter((n) => /^requirements.*\.txt$/.test(n))) {
    files[`python/${name}`] = await readFile(path.join(dir, 'python', name), 'utf8');
  }
  files['handler/requirements.txt'] = await readFile(path.join(dir, 'handler', 'requirements.txt'), 'utf8');
  // What the seed's model and package tasks need besides: a stand-in model, and a handler to zip.
  const fake = path.join(REPO_ROOT, 'test', 'fixtures', 'fake-function');
  for (const name of ['python/build_model_artifacts.py', 'handler/app.py']) files[name] = await readFile(path.join(fake, name), 'utf8');
  const key = createHash('sha256').update(JSON.stringify(Object.entries(files).sort())).digest('hex').slice(0, 16);
  const seed = path.join(seedsRoot(), `env-${key}`);
  if (existsSync(seed)) return seed;

  // Written aside and renamed into place, so a test file never sees half a seed project.
  await mkdir(seedsRoot(), { recursive: true });
  const staging = await mkdtemp(`${seed}.tmp-`);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(staging, name)), { recursive: true });
    await writeFile(path.join(staging, name), content);
  }
  try {
    await rename(staging, seed);
  } catch (error) {
    // Another test file created it first: theirs is the same.
    if (!['EEXIST', 'ENOTEMPTY'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    await rm(staging, { recursive: true, force: true });
  }
  return seed;
}

/**
 * A copy of the tree at `from` whose files are hard links (the venv is some 700 MB): nothing pipe does
 * writes into an environment's files after env built them. A plain copy where links cannot be made.
 */
async function linkTree(from: string, to: string): Promise<void> {
  try {
    await promisify(execFile)('cp', ['-al', from, to]);
  } catch {
    await rm(to, { recursive: true, force: true });
    await cp(from, to, { recursive: true, verbatimSymlinks: true });
  }
}
