import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { PipeError } from '../errors.js';
import { processAlive } from '../util/process-alive.js';
import { LOCK_FILE } from '../project-paths.js';

interface LockOwner {
  pid: number;
  tasks: string[];
  since: string;
}

export interface ProjectLock {
  release(): Promise<void>;
}

/**
 * One pipe at a time per project: the lock file is created exclusively (O_EXCL), so two processes
 * cannot both own it. A second pipe waits, saying for whom; a lock left by a dead process is taken over.
 */
export async function acquireProjectLock(opts: {
  root: string;
  tasks: string[];
  signal: AbortSignal;
  onWait: (message: string) => void;
  timeoutMs?: number;
}): Promise<ProjectLock> {
  const file = path.join(opts.root, LOCK_FILE);
  await mkdir(path.dirname(file), { recursive: true });
  const deadline = Date.now() + (opts.timeoutMs ?? 30 * 60_000);
  let announced = false;
  const me: LockOwner = { pid: process.pid, tasks: opts.tasks, since: new Date().toISOString() };
  for (;;) {
    try {
      await writeFile(file, JSON.stringify(me), { flag: 'wx' });
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          await rm(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let owner: LockOwner | undefined;
    try {
      owner = JSON.parse(await readFile(file, 'utf8')) as LockOwner;
    } catch {
      // Being written right now, or removed: look again.
    }
    if (owner && !processAlive(owner.pid)) {
      await rm(file, { force: true });
      continue;
    }
    if (owner && !announced) {
      opts.onWait(`Waiting for another pipe (pid ${owner.pid}, running ${owner.tasks.join(' ')}) to finish...`);
      announced = true;
    }
    if (Date.now() > deadline) {
      throw new PipeError('LOCKED', `The project is locked by pid ${owner?.pid ?? '?'}`, {
        hint: `Wait for it to finish, or remove ${file} if no pipe is running.`,
      });
    }
    if (opts.signal.aborted) throw opts.signal.reason ?? new Error('aborted');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
