import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedConfig } from '../config/resolved.js';
import { PipeError } from '../errors.js';
import { packageDir, scoreDir } from '../project-paths.js';
import { extractZip } from './extract-zip.js';
import type { ExtractedPackage } from './score-driver.js';

/** The zips of a package directory (`build/package`-shaped): function.zip, and layer.zip when it has one. */
export function packageZips(dir: string): { functionZip: string; layerZip?: string } {
  const functionZip = path.join(dir, 'function.zip');
  if (!existsSync(functionZip)) {
    throw new PipeError('PACKAGE_MISSING', `${functionZip} does not exist`, { hint: 'Run `npx pipe package` first, or name a directory that holds a package (function.zip, layer.zip, manifest.json).' });
  }
  const layerZip = path.join(dir, 'layer.zip');
  return existsSync(layerZip) ? { functionZip, layerZip } : { functionZip };
}

/**
 * A package extracted as Lambda would see it (the function as /var/task, the layer as /opt), under
 * `cacheDir`, once per package content: a directory named by the zips' identity (path, size, time), made
 * under a temporary name and renamed into place, so that concurrent runs never see half of one. Earlier
 * extractions of the same package directory are removed.
 */
export async function extractPackageCached(packageDir: string, cacheDir: string, python: string): Promise<ExtractedPackage> {
  const zips = packageZips(packageDir);
  const files = [zips.functionZip, ...(zips.layerZip ? [zips.layerZip] : [])];
  const identity = await Promise.all(files.map(async (file) => {
    const s = await stat(file);
    return `${path.resolve(file)}:${s.size}:${s.mtimeMs}`;
  }));
  const owner = createHash('sha256').update(path.resolve(packageDir)).digest('hex').slice(0, 8);
  const key = `${owner}-${createHash('sha256').update(identity.join('\n')).digest('hex').slice(0, 16)}`;
  const dir = path.join(cacheDir, key);
  const layout = (root: string): ExtractedPackage => ({ codeDir: path.join(root, 'code'), layerDirs: zips.layerZip ? [path.join(root, 'layer')] : [] });
  if (existsSync(path.join(dir, 'complete'))) return layout(dir);
  const staging = path.join(cacheDir, `.${key}.${process.pid}.${randomBytes(4).toString('hex')}`);
  try {
    await extractZip(zips.functionZip, path.join(staging, 'code'), { python });
    if (zips.layerZip) await extractZip(zips.layerZip, path.join(staging, 'layer'), { python });
    await writeFile(path.join(staging, 'complete'), '');
    await rename(staging, dir).catch(async (error: NodeJS.ErrnoException) => {
      // Another run extracted the same package meanwhile: keep its copy.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  for (const entry of await readdir(cacheDir)) {
    if (entry.startsWith(`${owner}-`) && entry !== key) await rm(path.join(cacheDir, entry), { recursive: true, force: true });
  }
  return layout(dir);
}

/** Where pipe score and pipe diff keep extracted packages and downloads (build/score), absolute. */
export const scoreCacheDir = (config: Pick<ResolvedConfig, 'root' | 'paths'>): string => path.join(config.root, scoreDir(config));

/** A package directory (default the project's build/package), extracted for scoring under build/score. */
export async function extractForScoring(config: Pick<ResolvedConfig, 'root' | 'paths' | 'python'>, dir = path.join(config.root, packageDir(config))): Promise<ExtractedPackage> {
  const cache = scoreCacheDir(config);
  await mkdir(cache, { recursive: true });
  return extractPackageCached(dir, cache, config.python);
}
