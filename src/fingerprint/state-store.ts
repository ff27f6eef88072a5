import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import type { FingerprintParts } from './fingerprint.js';
import { STATE_DIR } from '../project-paths.js';

/** What pipe remembers of a task's last successful run. */
export interface TaskState {
  fingerprint: string;
  parts: FingerprintParts;
  finishedAt: string;
}

/** Per-task state files under .pipe/state: written only after success, removed before a task runs. */
export class StateStore {
  constructor(readonly dir: string) {}

  static forProject(root: string): StateStore {
    return new StateStore(path.join(root, STATE_DIR));
  }

  /** `task` is a task name, or `env@<envKey>` for a task with a state per runner environment. */
  private file(task: string): string {
    return path.join(this.dir, `${task.replace(/[^a-zA-Z0-9_@.-]/g, '_')}.json`);
  }

  async read(task: string): Promise<TaskState | undefined> {
    const file = this.file(task);
    if (!existsSync(file)) return undefined;
    try {
      return JSON.parse(await readFile(file, 'utf8')) as TaskState;
    } catch {
      // A state file that does not parse is not trusted: the task runs again.
      return undefined;
    }
  }

  async write(task: string, state: TaskState): Promise<void> {
    await writeFileAtomic(this.file(task), `${JSON.stringify(state, null, 1)}\n`);
  }

  async forget(task: string): Promise<void> {
    await rm(this.file(task), { force: true });
  }
}
