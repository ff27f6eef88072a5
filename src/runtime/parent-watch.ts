import { processAlive } from '../util/process-alive.js';

/**
 * The process that started pipe, read when this module loads (at start-up: the task registry imports
 * it). `npx pipe serve` runs pipe under the npm wrapper: a SIGINT or SIGTERM sent to the wrapper alone
 * ends it without passing the signal on, and pipe would go on serving, re-parented to init and holding
 * its port. A parent that went away is seen as a changed parent id (the kernel re-parents orphans at
 * once) or, should the id be reused, as the original process no longer existing.
 */
const launchParent = process.ppid;

/** True once the process that started pipe has exited. */
export function parentGone(): boolean {
  // Started by init (a container's entry point): there is no parent to outlive.
  if (launchParent <= 1) return false;
  return process.ppid !== launchParent || !processAlive(launchParent);
}

/**
 * Calls `onGone` once when the parent exits, polling every `intervalMs` (no IPC channel is needed:
 * the npm wrapper does not give one). The returned function stops watching.
 */
export function watchParent(onGone: () => void, intervalMs = 250): () => void {
  const timer = setInterval(() => {
    if (!parentGone()) return;
    clearInterval(timer);
    onGone();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** The pid of the process that started pipe. */
export const launchParentPid = (): number => launchParent;
