/**
 * What AWS Lambda is, as data: its Python runtimes (Amazon Linux generation, glibc, deprecation
 * calendar), architectures, pip platform tags, size limits and other documented numbers. Config,
 * packaging, runners and the AWS code read them from here and nowhere else.
 *
 * Sources: the Lambda runtimes and runtime deprecation tables, "Lambda quotas", and the
 * PutFunctionConcurrency / PutRetentionPolicy API references.
 */

export const ARCHITECTURES = ['x86_64', 'arm64'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** The machine name in wheel tags and `uname -m` for each Lambda architecture. */
export const MACHINE: Readonly<Record<Architecture, 'x86_64' | 'aarch64'>> = { x86_64: 'x86_64', arm64: 'aarch64' };

export interface PythonRuntimeInfo {
  runtime: string;
  /** "3.11" */
  pythonVersion: string;
  /** The glibc of its Amazon Linux: the newest manylinux a vendored wheel may need. */
  glibc: readonly [number, number];
  os: 'Amazon Linux 2' | 'Amazon Linux 2023';
  /** No more security patches from this date. */
  deprecated?: string;
  /** No new functions from this date. */
  blockCreate?: string;
  /** No updates of existing functions from this date. */
  blockUpdate?: string;
}

const AL2 = { glibc: [2, 26] as const, os: 'Amazon Linux 2' as const };
const AL2023 = { glibc: [2, 34] as const, os: 'Amazon Linux 2023' as const };

export const PYTHON_RUNTIMES = {
  'python3.7': { runtime: 'python3.7', pythonVersion: '3.7', ...AL2, deprecated: '2023-12-04', blockCreate: '2024-01-09', blockUpdate: '2024-02-28' },
  'python3.8': { runtime: 'python3.8', pythonVersion: '3.8', ...AL2, deprecated: '2024-10-14', blockCreate: '2025-02-28', blockUpdate: '2025-03-31' },
  'python3.9': { runtime: 'python3.9', pythonVersion: '3.9', ...AL2, deprecated: '2025-12-15', blockCreate: '2027-02-01', blockUpdate: '2027-03-03' },
  'python3.10': { runtime: 'python3.10', pythonVersion: '3.10', ...AL2 },
  'python3.11': { runtime: 'python3.11', pythonVersion: '3.11', ...AL2 },
  'python3.12': { runtime: 'python3.12', pythonVersion: '3.12', ...AL2023 },
  'python3.13': { runtime: 'python3.13', pythonVersion: '3.13', ...AL2023 },
  'python3.14': { runtime: 'python3.14', pythonVersion: '3.14', ...AL2023 },
} as const satisfies Record<string, PythonRuntimeInfo>;

export type Runtime = keyof typeof PYTHON_RUNTIMES;
export const RUNTIMES = Object.keys(PYTHON_RUNTIMES) as Runtime[];
export const DEFAULT_RUNTIME: Runtime = 'python3.12';

export const isRuntime = (name: string): name is Runtime => Object.hasOwn(PYTHON_RUNTIMES, name);

export function runtimeInfo(runtime: Runtime): PythonRuntimeInfo {
  return PYTHON_RUNTIMES[runtime];
}

/** The Python version a runtime runs: "3.12" for python3.12. */
export function runtimePythonVersion(runtime: Runtime): string {
  return PYTHON_RUNTIMES[runtime].pythonVersion;
}

/** The runtimes Lambda still patches on `now`, oldest first. */
export function supportedRuntimes(now = new Date()): Runtime[] {
  return RUNTIMES.filter((r) => {
    const deprecated = (PYTHON_RUNTIMES[r] as PythonRuntimeInfo).deprecated;
    return !deprecated || new Date(deprecated) > now;
  });
}

/**
 * Why Lambda refuses a runtime on `now` — blocked (no new functions), or deprecated (no more security
 * patches) — or undefined while it still patches it.
 */
export function runtimeRefusal(runtime: Runtime, now = new Date()): { code: 'RUNTIME_BLOCKED' | 'RUNTIME_DEPRECATED'; reason: string } | undefined {
  const info: PythonRuntimeInfo = PYTHON_RUNTIMES[runtime];
  if (info.blockCreate && new Date(info.blockCreate) <= now) {
    return { code: 'RUNTIME_BLOCKED', reason: `Lambda no longer accepts it (deprecated ${info.deprecated}, blocked since ${info.blockCreate})` };
  }
  if (info.deprecated && new Date(info.deprecated) <= now) {
    return {
      code: 'RUNTIME_DEPRECATED',
      reason: `deprecated since ${info.deprecated}: Lambda no longer patches it${info.blockCreate ? ` and blocks new functions from ${info.blockCreate}` : ''}`,
    };
  }
  return undefined;
}

/**
 * pip `--platform` tags a wheel may carry to run on the runtime: manylinux2014 (glibc 2.17) and every
 * manylinux_2_N up to the runtime's glibc, for its architecture. pip then never picks a wheel that needs
 * a newer glibc, which is what breaks numpy/scipy on python3.11 functions.
 */
export function pipPlatforms(runtime: Runtime, architecture: Architecture): string[] {
  const machine = MACHINE[architecture];
  const [, minor] = PYTHON_RUNTIMES[runtime].glibc;
  const tags = [`manylinux2014_${machine}`];
  for (let m = 17; m <= minor; m++) tags.push(`manylinux_2_${m}_${machine}`);
  return tags;
}

/** Deployment package quotas. */
export const LIMITS = {
  /** A zip uploaded in the CreateFunction / UpdateFunctionCode / PublishLayerVersion request itself. */
  directUploadBytes: 52_428_800,
  /** Function code plus all its layers, unzipped. */
  unzippedBytes: 262_144_000,
  layersPerFunction: 5,
  memoryMb: { min: 128, max: 10_240 },
  timeoutSeconds: { min: 1, max: 900 },
  ephemeralStorageMb: { min: 512, max: 10_240 },
  /** Concurrency Lambda keeps unreserved in every account and region. */
  unreservedConcurrencyMinimum: 100,
} as const;
