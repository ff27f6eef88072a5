import { readFile, rm } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic.js';
import { processAlive } from '../util/process-alive.js';

/** `<build>/serve.json`: where a running `pipe serve` listens, so that `pipe invoke` finds it. */
export interface ServeState {
  url: string;
  /** Process id of the `pipe serve` process. */
  pid: number;
  /** The served package's example request (from its manifest): what `pipe invoke` sends without a body. */
  example?: unknown;
}

/** The state of a `pipe serve` that is still running, or undefined (none, or it died without cleaning up). */
export async function readServeState(file: string): Promise<ServeState | undefined> {
  let state: Partial<ServeState>;
  try {
    state = JSON.parse(await readFile(file, 'utf8')) as Partial<ServeState>;
  } catch {
    return undefined;
  }
  if (typeof state.url !== 'string' || typeof state.pid !== 'number' || !processAlive(state.pid)) return undefined;
  return { url: state.url, pid: state.pid, ...(state.example === undefined ? {} : { example: state.example }) };
}

export async function writeServeState(file: string, state: ServeState): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`);
}

/** Removes the file if it still describes this process's server (a newer serve may have replaced it). */
export async function clearServeState(file: string, pid: number): Promise<void> {
  try {
    const state = JSON.parse(await readFile(file, 'utf8')) as Partial<ServeState>;
    if (state.pid === pid) await rm(file, { force: true });
  } catch {
    // Already gone or unreadable: nothing of ours to remove.
  }
}
