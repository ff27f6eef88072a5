import { stat } from 'node:fs/promises';
import path from 'node:path';
import { glob } from 'tinyglobby';
import { sha256, sha256File, stableStringify } from '../util/hash.js';

/** Bump when the way fingerprints are computed changes, so old state is never trusted. */
export const FINGERPRINT_VERSION = 1;

/** A file's hash with the stat it was computed from, so unchanged files are not read again. */
export interface FileHash {
  hash: string;
  size: number;
  mtimeMs: number;
}

/** Everything a task's fingerprint is made of, kept in its state so a re-run can say what changed. */
export interface FingerprintParts {
  files: Record<string, FileHash>;
  /** Hash of the config slice the task reads. */
  config: string;
  tools: Record<string, string>;
  dependencies: Record<string, string>;
}

export function combineFingerprint(task: string, parts: FingerprintParts): string {
  return sha256(
    stableStringify({
      v: FINGERPRINT_VERSION,
      task,
      files: Object.fromEntries(Object.entries(parts.files).map(([f, h]) => [f, h.hash])),
      config: parts.config,
      tools: parts.tools,
      dependencies: parts.dependencies,
    }),
  );
}

export function hashConfigSlice(slice: unknown): string {
  return sha256(stableStringify(slice ?? null));
}

const ALWAYS_IGNORED = ['**/node_modules/**', '**/.git/**', '.pipe/**', '**/__pycache__/**', '**/*.pyc'];

/**
 * Hashes the files matched by `patterns` (project-relative globs). A file whose size and mtime match
 * the previous run's record keeps its recorded hash, as git does, so a no-op run reads no content.
 */
export async function hashInputs(root: string, patterns: readonly string[], previous: Record<string, FileHash> = {}): Promise<Record<string, FileHash>> {
  const files = (await glob([...patterns], { cwd: root, dot: true, onlyFiles: true, ignore: ALWAYS_IGNORED, expandDirectories: true })).sort();
  const entries = await Promise.all(
    files.map(async (rel): Promise<[string, FileHash]> => {
      const abs = path.join(root, rel);
      const info = await stat(abs);
      const before = previous[rel];
      if (before && before.size === info.size && before.mtimeMs === info.mtimeMs) return [rel, before];
      return [rel, { hash: await sha256File(abs), size: info.size, mtimeMs: info.mtimeMs }];
    }),
  );
  return Object.fromEntries(entries);
}
