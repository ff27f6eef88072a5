import { access } from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedConfig } from './config/resolved.js';
import { UsageError } from './errors.js';

/**
 * Every path pipe itself reads or writes in a project, relative to the project root (posix), in one
 * place. The config's `paths` name the user's directories (handler, python, artifacts, build); pipe's
 * own bookkeeping lives under `.pipe/`.
 */

/** pipe's own directory: task fingerprints, caches, the run lock. */
export const PIPE_DIR = '.pipe';
export const STATE_DIR = `${PIPE_DIR}/state`;
export const CACHE_DIR = `${PIPE_DIR}/cache`;
export const LOCK_FILE = `${PIPE_DIR}/lock`;
/** Image id -> its Python, so that a no-op run starts no container to ask again. */
export const IMAGE_PYTHON_CACHE = `${CACHE_DIR}/image-python.json`;

/** A task's fingerprint state, written only after it succeeds. */
export const taskStateFile = (task: string): string => `${STATE_DIR}/${task}.json`;

type Paths = Pick<ResolvedConfig, 'paths'>;

/** The packaged zips and their manifest. */
export const packageDir = (config: Paths): string => path.posix.join(config.paths.build, 'package');

/** What `pipe serve` extracted and where it says it listens. */
export const serveDir = (config: Paths): string => path.posix.join(config.paths.build, 'serve');
export const serveStateFile = (config: Paths): string => path.posix.join(config.paths.build, 'serve.json');

/** Packages extracted for pipe score and pipe diff, and deployed versions downloaded for pipe diff. */
export const scoreDir = (config: Paths): string => path.posix.join(config.paths.build, 'score');

/**
 * The two environments of one runner environment: each runner and image (or local interpreter) has its
 * own, `envKey` being the runner's, so `--runner local` after `--runner docker` finds its earlier build.
 */
export const envPaths = (config: Paths, envKey: string) => ({
  /** Training virtualenv: the model task runs in it. */
  venv: path.posix.join(config.paths.build, `venv-${envKey}`),
  /** Runtime deps vendored for Lambda, in layer layout (`python/...`). */
  runtimeDeps: path.posix.join(config.paths.build, `runtime-deps-${envKey}`),
});

export const venvPython = (config: Paths, envKey: string): string => `${envPaths(config, envKey).venv}/bin/python`;

/** The requirements vendored for the Lambda runtime. */
export const runtimeRequirements = (config: Paths): string => `${config.paths.handler}/requirements.txt`;

/**
 * A preflight check: the project files a task reads (project-relative), so that a directory without them
 * gets a clear error before anything is built, not a tool's own "no such file" halfway through.
 */
export async function requireProjectFiles(config: Pick<ResolvedConfig, 'root'>, task: string, files: readonly string[]): Promise<void> {
  const found = await Promise.all(files.map((file) => access(path.join(config.root, file)).then(() => true, () => false)));
  const missing = files.filter((_, i) => !found[i]);
  if (missing.length === 0) return;
  throw new UsageError('PROJECT_FILE_MISSING', `${task} needs ${missing.join(' and ')}, which the project at ${config.root} does not have`, {
    hint: 'pipe runs in a clone of its repository, which carries python/ (training) and handler/ (the function): ' +
      'clone it and point pipeline.config.ts at your data, or set paths.python and paths.handler to directories ' +
      'holding these files.',
  });
}
