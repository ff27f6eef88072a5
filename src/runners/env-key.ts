import { sha256 } from '../util/hash.js';
import type { RunnerKind } from './runner.js';

/**
 * Names the environments a runner builds, so that each runner and image (or local interpreter) keeps
 * its own: "local-python3", "docker-pipe-build-python3.11-latest-1c2d3e4f". Readable from the last path
 * segment of the image or interpreter; a short hash of the whole name when that segment is not all of
 * it, so `a/python3` and `b/python3` never share an environment.
 */
export function environmentKey(kind: RunnerKind, name: string): string {
  const last = name.slice(name.lastIndexOf('/') + 1);
  const readable = last.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+|-+$/g, '') || 'default';
  return readable === name ? `${kind}-${readable}` : `${kind}-${readable}-${sha256(name).slice(0, 8)}`;
}
