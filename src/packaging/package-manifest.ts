import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedConfig } from '../config/resolved.js';
import { PipeError, UsageError } from '../errors.js';
import type { ModelSummary } from './artifacts.js';
import { ARCHITECTURES, type Architecture } from '../lambda/facts.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { VendoredWheel } from './wheels.js';
import { packageDir } from '../project-paths.js';

/** One archive the package task wrote, as listed in manifest.json. */
export interface PackageArchive {
  file: string;
  sha256: string;
  size: number;
  unzippedSize: number;
}

/** `<build>/package/manifest.json`: what the package task built, read by deploy, update and status. */
export interface PackageManifest {
  function: PackageArchive;
  /** `sources`: the digest of the files zipped (zip.entriesDigest), for the next package to reuse the zip. */
  layer: (PackageArchive & { depsHash: string; sources?: string }) | null;
  runtime: string;
  architecture: Architecture;
  handler: string;
  wheels: VendoredWheel[];
  /** The artifacts in function.zip (under artifacts/), as the artifacts directory named them. */
  artifacts: string[];
  /** The request the smoke test sends to POST /predict, from the model card; absent when the card has none. */
  exampleRequest?: unknown;
  /** The model the package holds (from its card): recorded with each published version. */
  model?: ModelSummary;
}

/**
 * The manifest's shape, in the package task's fingerprint: a package written by a pipe that wrote
 * another shape is built again instead of failing to read.
 */
export const PACKAGE_MANIFEST_FORMAT = 3;

/** A manifest with its archives' absolute paths. */
export interface LocalPackage {
  dir: string;
  manifest: PackageManifest;
  functionZip: string;
  layerZip: string | null;
}

const MANIFEST_FILE = 'manifest.json';

/** Writes the manifest into a package directory, atomically. */
export async function writePackageManifest(dir: string, manifest: PackageManifest): Promise<void> {
  await writeFileAtomic(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}

export async function readLocalPackage(config: Pick<ResolvedConfig, 'root' | 'paths'>): Promise<LocalPackage> {
  const dir = path.join(config.root, packageDir(config));
  const file = path.join(dir, MANIFEST_FILE);
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

/** The package's example request (the card's, recorded by the package task), or undefined when there is no readable package. */
export async function packagedExample(config: Pick<ResolvedConfig, 'root' | 'paths'>): Promise<unknown> {
  try {
    return (await readLocalPackage(config)).manifest.exampleRequest;
  } catch {
    return undefined;
  }
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
    const sources = (m.layer as Record<string, unknown>).sources;
    layer = { ...archive(m.layer, 'layer'), depsHash, ...(typeof sources === 'string' && { sources }) };
  }
  if (typeof m.runtime !== 'string') return bad('"runtime" is missing');
  const architecture = ARCHITECTURES.find((a) => a === m.architecture) ?? bad(`"architecture" must be ${ARCHITECTURES.join(' or ')}`);
  if (typeof m.handler !== 'string') return bad('"handler" is missing');
  const wheels = Array.isArray(m.wheels) ? (m.wheels as VendoredWheel[]) : [];
  const artifacts = Array.isArray(m.artifacts) ? m.artifacts.filter((a): a is string => typeof a === 'string') : [];
  return {
    function: fn, layer, runtime: m.runtime, architecture, handler: m.handler, wheels, artifacts,
    ...(m.exampleRequest === undefined ? {} : { exampleRequest: m.exampleRequest }),
    ...(m.model !== null && typeof m.model === 'object' ? { model: m.model as ModelSummary } : {}),
  };
}
