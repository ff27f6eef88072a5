import { existsSync } from 'node:fs';
import { lstat, rm } from 'node:fs/promises';
import path from 'node:path';
import { PipeError } from '../src/errors.js';
import type { TaskDefinition } from '../src/task.js';
import { packageDir } from './package.js';

/** Resolves a project-relative path and refuses anything that is not strictly inside the project. */
function insideProject(root: string, rel: string): string {
  const abs = path.resolve(root, rel);
  const relative = path.relative(root, abs);
  if (!relative || relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new PipeError('CLEAN_OUTSIDE_PROJECT', `Refusing to remove ${abs}: it is not inside the project ${root}`, {
      hint: 'Check the paths in pipeline.config.ts.',
    });
  }
  return abs;
}

export const cleanTask: TaskDefinition = {
  name: 'clean',
  description: 'Remove build outputs and their fingerprints (--all: environments, trained artifacts and caches too)',
  dependencies: [],
  options: {
    all: { type: 'boolean', describe: 'Also remove the environments (build/) and trained artifacts', default: false },
  },
  async run(ctx) {
    const { config, root } = ctx;
    const all = Boolean(ctx.options.all);
    const targets = all
      ? [config.paths.build, config.paths.artifacts, '.pipe/state', '.pipe/cache']
      : [packageDir(config), path.posix.join(config.paths.build, 'serve'), path.posix.join(config.paths.build, 'serve.json'), '.pipe/state/package.json'];
    const removed: string[] = [];
    for (const rel of targets) {
      const abs = insideProject(root, rel);
      // lstat: a symlink is removed as a link, never followed out of the project.
      if (!existsSync(abs) && !(await lstat(abs).catch(() => undefined))) continue;
      await rm(abs, { recursive: true, force: true });
      removed.push(rel);
      ctx.reporter.line(`removed ${rel}`, 'info');
    }
    return { summary: removed.length ? `removed ${removed.join(', ')}` : 'nothing to remove' };
  },
};
