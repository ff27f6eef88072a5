import { existsSync } from 'node:fs';
import { lstat, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedConfig } from '../src/config/resolved.js';
import { PipeError, UsageError } from '../src/errors.js';
import { readServeState } from '../src/runtime/serve-state.js';
import type { TaskContext, TaskDefinition } from '../src/task.js';
import { CACHE_DIR, packageDir, scoreDir, serveDir, serveStateFile, STATE_DIR, taskStateFile } from '../src/project-paths.js';

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

/**
 * What clean removes, project-relative, with what each holds (shown when asking to confirm). `cheap`:
 * recreated by every run (the compiled config), never worth a question.
 */
function targetsOf(config: ResolvedConfig, all: boolean): { rel: string; what: string; cheap?: boolean }[] {
  const serve = [
    { rel: serveDir(config), what: 'the package extracted for pipe serve' },
    { rel: serveStateFile(config), what: "pipe serve's address" },
    { rel: scoreDir(config), what: 'the packages extracted (and deployed versions downloaded) for pipe score and pipe diff' },
  ];
  if (!all) return [{ rel: packageDir(config), what: 'the packaged zips' }, ...serve, { rel: taskStateFile('package'), what: "package's fingerprint" }];
  return [
    { rel: config.paths.build, what: 'the Python environments, vendored deps, packages' },
    { rel: config.paths.artifacts, what: 'the trained model and its model card' },
    { rel: STATE_DIR, what: 'the fingerprints of every task' },
    { rel: CACHE_DIR, what: 'the compiled config', cheap: true },
  ];
}

const exists = async (abs: string): Promise<boolean> => existsSync(abs) || (await lstat(abs).catch(() => undefined)) !== undefined;

const contains = (dir: string, file: string): boolean => file === dir || file.startsWith(`${dir}${path.sep}`);

/**
 * Removes `abs`, except the paths in `keep` (and the directories leading to them). A symlink is removed
 * as a link and never followed out of the project; one leading to a kept path is kept.
 */
async function removeExcept(abs: string, keep: readonly string[]): Promise<boolean> {
  if (keep.some((k) => contains(k, abs))) return false;
  const inside = keep.filter((k) => contains(abs, k));
  if (inside.length === 0) {
    await rm(abs, { recursive: true, force: true });
    return true;
  }
  const stat = await lstat(abs);
  if (!stat.isDirectory()) return false;
  for (const entry of await readdir(abs)) await removeExcept(path.join(abs, entry), inside);
  return true;
}

/** A running `pipe serve` of this project: its extracted package and state file stay while it runs. */
async function servedPaths(ctx: TaskContext): Promise<{ keep: string[]; note?: string }> {
  const state = await readServeState(path.join(ctx.root, serveStateFile(ctx.config)));
  if (!state) return { keep: [] };
  const kept = [serveDir(ctx.config), serveStateFile(ctx.config)];
  return {
    keep: kept.map((rel) => path.join(ctx.root, rel)),
    note: `kept ${kept.join(' and ')}: pipe serve is running at ${state.url} (pid ${state.pid})`,
  };
}

export const cleanTask: TaskDefinition = {
  name: 'clean',
  description: 'Remove build outputs and their fingerprints (--all: environments, trained artifacts and caches too; asks unless --yes)',
  dependencies: [],
  options: {
    all: { type: 'boolean', describe: 'Also remove the environments (build/) and trained artifacts (confirmation: --yes without a TTY)', default: false },
  },
  async run(ctx) {
    const { config, root } = ctx;
    const all = Boolean(ctx.options.all);
    const present: { rel: string; what: string; cheap?: boolean; abs: string }[] = [];
    for (const target of targetsOf(config, all)) {
      const abs = insideProject(root, target.rel);
      if (await exists(abs)) present.push({ ...target, abs });
    }
    if (present.length === 0) return { summary: 'nothing to remove' };
    // The trained model and the environments take minutes to rebuild: --all asks first.
    if (all && ctx.options.yes !== true && present.some((t) => !t.cheap)) {
      const list = present.map((t) => `  ${t.rel} (${t.what})`).join('\n');
      if (!ctx.io.interactive) {
        throw new UsageError('CONFIRMATION_REQUIRED', `clean --all would remove:\n${list}\nand there is no terminal to confirm it`, {
          hint: 'Pass --yes to confirm.',
        });
      }
      if (!(await ctx.io.confirm(`clean --all removes:\n${list}\nRemove them?`))) {
        ctx.reporter.line('cancelled: nothing was removed');
        return { summary: 'cancelled' };
      }
    }
    const served = await servedPaths(ctx);
    const removed: string[] = [];
    for (const target of present) {
      if (!(await removeExcept(target.abs, served.keep))) continue;
      removed.push(target.rel);
      ctx.reporter.line(`removed ${target.rel}`, 'info');
    }
    if (served.note) ctx.reporter.line(served.note, 'info');
    const summary = removed.length ? `removed ${removed.join(', ')}` : 'nothing to remove';
    return { summary: served.note ? `${summary}; ${served.note}` : summary };
  },
};
