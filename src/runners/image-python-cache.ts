import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { IMAGE_PYTHON_CACHE } from '../project-paths.js';

/** An image's interpreter, as found by starting a container of it once. */
export interface ImagePython {
  python: string;
  version: string;
}

type Cache = Record<string, ImagePython>;

/** Image id -> its Python, remembered in .pipe/cache so a no-op run starts no container to ask again. */
function cacheFile(root: string): string {
  return path.join(root, IMAGE_PYTHON_CACHE);
}

function readCache(root: string): Cache {
  try {
    return JSON.parse(readFileSync(cacheFile(root), 'utf8')) as Cache;
  } catch {
    return {};
  }
}

/** The Python remembered for an image id, if any. */
export function knownImagePython(root: string, imageId: string): ImagePython | undefined {
  return readCache(root)[imageId];
}

/** Remembers an image's Python for the next runs. */
export async function rememberImagePython(root: string, imageId: string, python: ImagePython): Promise<void> {
  await writeFileAtomic(cacheFile(root), JSON.stringify({ ...readCache(root), [imageId]: python }));
}
