import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Writes a file so that readers see the old content or the new one, never a part. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/**
 * Moves a finished output (file or directory) from `staged` to `final`. A directory cannot be renamed
 * over a non-empty one, so the old output is first renamed aside and removed after the swap.
 */
export async function promote(staged: string, final: string): Promise<void> {
  await mkdir(path.dirname(final), { recursive: true });
  const aside = `${final}.${process.pid}.old`;
  let movedAside = false;
  try {
    await rename(final, aside);
    movedAside = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  try {
    await rename(staged, final);
  } catch (error) {
    if (movedAside) await rename(aside, final);
    throw error;
  }
  if (movedAside) await rm(aside, { recursive: true, force: true });
}
