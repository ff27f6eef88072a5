import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The git commit a project directory is at (12 hex digits, `+changes` when the work tree differs from
 * it), or undefined when it is no git repository or git is not installed.
 */
export async function gitCommit(dir: string): Promise<string | undefined> {
  let at = path.resolve(dir);
  while (!existsSync(path.join(at, '.git'))) {
    const up = path.dirname(at);
    if (up === at) return undefined;
    at = up;
  }
  const { execa } = await import('execa');
  const head = await execa('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: dir, reject: false });
  if (head.exitCode !== 0 || !/^[0-9a-f]{7,40}$/.test(head.stdout.trim())) return undefined;
  const status = await execa('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: dir, reject: false });
  return `${head.stdout.trim()}${status.exitCode === 0 && status.stdout.trim() ? '+changes' : ''}`;
}
