import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedConfig } from '../config/resolved.js';
import { PipeError, UsageError } from '../errors.js';
import type { WheelInfo } from '../aws/rules/wheel-compat.js';

/** One archive the package task wrote, as listed in manifest.json. */
export interface PackageArchive {
  file: string;
  sha256: string;
  size: number;
  unzippedSize: number;
}

/** `<build>/package/manifest.json`, written by the package task. */
export interface PackageManifest {
  function: PackageArchive;
  layer: (PackageArchive & { depsHash: string }) | null;
  runtime: string;
  architecture: 'x86_64' | 'arm64';
  handler: string;
  wheels: WheelInfo[];
}

/** A manifest with its archives' absolute paths. */
export interface LocalPackage {
  dir: string;
  manifest: PackageManifest;
  functionZip: string;
  layerZip: string | null;
}

export const packageDir = (config: Pick<ResolvedConfig, 'root' | 'paths'>): string => path.join(config.root, config.paths.build, 'package');

export async function readLocalPackage(config: Pick<ResolvedConfig, 'root' | 'paths'>): Promise<LocalPackage> {
  const dir = packageDir(config);
  const file = path.join(dir, 'manifest.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError('PACKAGE_MISSING', `No package found at ${path.relative(config.root, file)}`, {
      hint: 'Run `pipe package` first (deploy and update run it for you).',
      cause: error,
    });
  }
  const manifest = parseManifest(JSON.parse(text), file);
  return {
    dir,
    manifest,
    functionZip: path.join(dir, manifest.function.file),
    layerZip: manifest.layer ? path.join(dir, manifest.layer.file) : null,
  };
}

function parseManifest(raw: unknown, file: string): PackageManifest {
  const bad = (what: string): never => {
    throw new PipeError('PACKAGE_MANIFEST_INVALID', `${file}: ${what}`, { hint: 'Rebuild it with `pipe package --force`.' });
  };
  if (!raw || typeof raw !== 'object') return bad('not a JSON object');
  const m = raw as Record<string, unknown>;
  const archive = (value: unknown, key: string): PackageArchive => {
    const a = value as Record<string, unknown> | null;
    if (!a || typeof a.file !== 'string' || typeof a.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(a.sha256)) return bad(`"${key}" lacks file/sha256`);
    if (typeof a.size !== 'number' || typeof a.unzippedSize !== 'number') return bad(`"${key}" lacks size/unzippedSize`);
    return { file: a.file, sha256: a.sha256, size: a.size, unzippedSize: a.unzippedSize };
  };
  const fn = archive(m.function, 'function');
  let layer: PackageManifest['layer'] = null;
  if (m.layer !== null && m.layer !== undefined) {
    const depsHash = (m.layer as Record<string, unknown>).depsHash;
    if (typeof depsHash !== 'string' || !/^[0-9a-f]{16,64}$/.test(depsHash)) return bad('"layer.depsHash" is missing');
    layer = { ...archive(m.layer, 'layer'), depsHash };
  }
  if (typeof m.runtime !== 'string') return bad('"runtime" is missing');
  if (m.architecture !== 'x86_64' && m.architecture !== 'arm64') return bad('"architecture" must be x86_64 or arm64');
  if (typeof m.handler !== 'string') return bad('"handler" is missing');
  const wheels = Array.isArray(m.wheels) ? (m.wheels as WheelInfo[]) : [];
  return { function: fn, layer, runtime: m.runtime, architecture: m.architecture, handler: m.handler, wheels };
}
