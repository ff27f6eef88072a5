import { LIMITS } from '../../lambda/facts.js';
import { UsageError } from '../../errors.js';
import { formatBytes } from '../../reporter/format.js';

/** Lambda's documented package limits. */
export const DIRECT_UPLOAD_LIMIT = LIMITS.directUploadBytes;
export const UNZIPPED_LIMIT = LIMITS.unzippedBytes;
const MAX_EPHEMERAL_MB = LIMITS.ephemeralStorageMb.max;
const MIB = 1_048_576;

export interface ArchiveSizes {
  size: number;
  unzippedSize: number;
}

export type UploadRoute = 'direct' | 's3';

/**
 * How the package reaches Lambda. `layer`: deps in a layer, function zip with handler + artifacts.
 * `function-only`: no deps to ship. `slim`: deps too big for any layer, so they go to S3 as an archive
 * the handler extracts to /tmp on a cold start (ephemeral storage sized to hold them).
 */
export type SizeStrategy =
  | { mode: 'layer'; functionUpload: UploadRoute; layerUpload: UploadRoute; ephemeralStorage: number; totalUnzipped: number }
  | { mode: 'function-only'; functionUpload: UploadRoute; ephemeralStorage: number; totalUnzipped: number }
  | { mode: 'slim'; functionUpload: UploadRoute; ephemeralStorage: number; totalUnzipped: number; depsUnzipped: number };

export interface SizeInput {
  function: ArchiveSizes;
  layer: ArchiveSizes | null;
  /** Configured /tmp size (MB). */
  ephemeralStorage: number;
  /** The user accepts slim mode (its cold start cost) when the package is over the unzipped limit. */
  allowSlim: boolean;
  /** The project's files behind the sizes, named in the advice (`handler/requirements.txt`, `artifacts`). */
  sources?: { requirements: string; artifacts: string };
}

export const uploadRoute = (size: number): UploadRoute => (size <= DIRECT_UPLOAD_LIMIT ? 'direct' : 's3');

/** Deps extracted to /tmp plus room for the archive while it downloads and 10% slack, rounded up. */
export function slimEphemeralStorage(depsZip: number, depsUnzipped: number, configured: number): number {
  const needed = Math.ceil(((depsUnzipped + depsZip) * 1.1) / MIB) + 64;
  return Math.max(configured, needed);
}

export function chooseSizeStrategy(input: SizeInput): SizeStrategy {
  const fn = input.function;
  const layer = input.layer;
  const functionUpload = uploadRoute(fn.size);
  if (!layer) {
    if (fn.unzippedSize > UNZIPPED_LIMIT) throw tooLarge(input, 'the function zip alone');
    return { mode: 'function-only', functionUpload, ephemeralStorage: input.ephemeralStorage, totalUnzipped: fn.unzippedSize };
  }
  const totalUnzipped = fn.unzippedSize + layer.unzippedSize;
  if (totalUnzipped <= UNZIPPED_LIMIT) {
    return { mode: 'layer', functionUpload, layerUpload: uploadRoute(layer.size), ephemeralStorage: input.ephemeralStorage, totalUnzipped };
  }
  if (fn.unzippedSize > UNZIPPED_LIMIT) throw tooLarge(input, 'the function zip alone (handler + artifacts)');
  if (!input.allowSlim) throw tooLarge(input, 'function + dependency layer');
  const ephemeralStorage = slimEphemeralStorage(layer.size, layer.unzippedSize, input.ephemeralStorage);
  if (ephemeralStorage > MAX_EPHEMERAL_MB) throw tooLarge(input, `the dependencies even for /tmp (${ephemeralStorage} MB needed, ${MAX_EPHEMERAL_MB} MB max)`);
  return { mode: 'slim', functionUpload, ephemeralStorage, totalUnzipped: fn.unzippedSize, depsUnzipped: layer.unzippedSize };
}

function tooLarge(input: SizeInput, what: string): UsageError {
  const fn = input.function;
  const layer = input.layer;
  const total = fn.unzippedSize + (layer?.unzippedSize ?? 0);
  const lines = [
    `function.zip: ${formatBytes(fn.size)} zipped, ${formatBytes(fn.unzippedSize)} unzipped`,
    layer ? `layer.zip (runtime deps): ${formatBytes(layer.size)} zipped, ${formatBytes(layer.unzippedSize)} unzipped` : 'no dependency layer',
    `total unzipped: ${total.toLocaleString('en-US')} bytes; Lambda's limit: ${UNZIPPED_LIMIT.toLocaleString('en-US')} bytes (function + layers)`,
  ];
  const deps = input.sources ? `the runtime dependencies (${input.sources.requirements})` : 'the runtime dependencies';
  const artifacts = input.sources ? `the artifacts (${input.sources.artifacts}/)` : 'the artifacts';
  return new UsageError('PACKAGE_TOO_LARGE', `The package is too large for Lambda: ${what} exceeds the limit.\n${lines.map((l) => `  ${l}`).join('\n')}`, {
    hint: input.allowSlim || !layer
      ? `Trim ${deps} or ${artifacts}, then rerun pipe package.`
      : `Options: pass --slim (deps archive in S3, extracted to /tmp on each cold start: slower cold starts), or trim ${deps} and rerun pipe package.`,
  });
}

/** The lines deploy prints so the user sees the choice and the numbers it came from. */
export function describeSizeStrategy(strategy: SizeStrategy, input: Pick<SizeInput, 'function' | 'layer'>): string[] {
  const fn = `function.zip ${formatBytes(input.function.size)} (${formatBytes(input.function.unzippedSize)} unzipped), ${routeText(strategy.functionUpload)}`;
  const limit = `${formatBytes(strategy.totalUnzipped)} of ${formatBytes(UNZIPPED_LIMIT)} unzipped limit`;
  switch (strategy.mode) {
    case 'layer':
      return [
        `size strategy: deps in a layer + function zip (${limit})`,
        fn,
        `layer.zip ${formatBytes(input.layer!.size)} (${formatBytes(input.layer!.unzippedSize)} unzipped), ${routeText(strategy.layerUpload)}`,
      ];
    case 'function-only':
      return [`size strategy: function zip only, no dependency layer (${limit})`, fn];
    case 'slim':
      return [
        `size strategy: slim: deps ${formatBytes(strategy.depsUnzipped)} unzipped exceed the layer limit, shipped via S3 and extracted to /tmp on cold start`,
        fn,
        `ephemeral storage ${strategy.ephemeralStorage} MB`,
      ];
    default: {
      const never: never = strategy;
      return never;
    }
  }
}

const routeText = (route: UploadRoute): string =>
  route === 'direct' ? `direct upload (<= ${formatBytes(DIRECT_UPLOAD_LIMIT)})` : `via S3 (over the ${formatBytes(DIRECT_UPLOAD_LIMIT)} direct-upload limit)`;
