import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';

/**
 * A file a command writes (`--out`), checked before any work: its directory exists, and without `force`
 * nothing is there yet. Returns the absolute path.
 */
export function checkOutputTarget(file: string, force: boolean, flag = '--out'): string {
  const target = path.resolve(file);
  if (!existsSync(path.dirname(target))) {
    throw new UsageError('OUTPUT_DIR_MISSING', `${flag} ${file}: the directory ${path.dirname(target)} does not exist`, { hint: 'Create it first, or choose another path.' });
  }
  if (!force && existsSync(target)) {
    throw new UsageError('OUTPUT_EXISTS', `${flag} ${file} already exists`, { hint: 'Choose another file, or pass --force to replace it.' });
  }
  return target;
}

/** A staging name next to the target (same file system, so that the final rename is one step). */
export function stagingName(target: string, suffix = 'tmp'): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.${suffix}`);
}

/** Puts the finished file in place in one step; without `force` never over a file that appeared meanwhile. */
export async function placeFile(tmp: string, target: string, force: boolean, file: string, flag = '--out'): Promise<void> {
  if (force) return rename(tmp, target);
  try {
    await link(tmp, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UsageError('OUTPUT_EXISTS', `${flag} ${file} already exists`, { hint: 'Choose another file, or pass --force to replace it.' });
    // A file system without hard links: the check and the rename are two steps there.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw error;
    if (await stat(target).then(() => true, () => false)) throw new UsageError('OUTPUT_EXISTS', `${flag} ${file} already exists`, { hint: 'Pass --force to replace it.' });
    return rename(tmp, target);
  }
}
