/**
 * Process groups of the host commands running now (spawn-streaming registers them). Kept apart from the
 * spawning code so that the process entry can reach them without loading it.
 */
const groups = new Set<number>();

export function groupStarted(pid: number): void {
  groups.add(pid);
}

export function groupEnded(pid: number): void {
  groups.delete(pid);
}

/** Kills every running command's process group at once, without grace: the process is exiting now. */
export function killRunningGroups(): void {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  groups.clear();
}
