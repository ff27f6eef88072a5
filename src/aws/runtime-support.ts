import { UsageError } from '../errors.js';

/**
 * Lambda's Python runtimes: the Amazon Linux generation (hence the glibc the vendored wheels must fit)
 * and the deprecation calendar. Dates from the Lambda runtime deprecation table; a deprecated runtime
 * gets no security patches, a blocked one cannot be created or updated at all.
 */
export interface PythonRuntimeInfo {
  runtime: string;
  /** "3.11" */
  pythonVersion: string;
  glibc: [number, number];
  os: 'Amazon Linux 2' | 'Amazon Linux 2023';
  deprecated?: string;
  blockCreate?: string;
  blockUpdate?: string;
}

const AL2 = { glibc: [2, 26] as [number, number], os: 'Amazon Linux 2' as const };
const AL2023 = { glibc: [2, 34] as [number, number], os: 'Amazon Linux 2023' as const };

export const PYTHON_RUNTIMES: Readonly<Record<string, PythonRuntimeInfo>> = {
  'python3.7': { runtime: 'python3.7', pythonVersion: '3.7', ...AL2, deprecated: '2023-12-04', blockCreate: '2024-01-09', blockUpdate: '2024-02-28' },
  'python3.8': { runtime: 'python3.8', pythonVersion: '3.8', ...AL2, deprecated: '2024-10-14', blockCreate: '2025-02-28', blockUpdate: '2025-03-31' },
  'python3.9': { runtime: 'python3.9', pythonVersion: '3.9', ...AL2, deprecated: '2025-12-15', blockCreate: '2027-02-01', blockUpdate: '2027-03-03' },
  'python3.10': { runtime: 'python3.10', pythonVersion: '3.10', ...AL2 },
  'python3.11': { runtime: 'python3.11', pythonVersion: '3.11', ...AL2 },
  'python3.12': { runtime: 'python3.12', pythonVersion: '3.12', ...AL2023 },
  'python3.13': { runtime: 'python3.13', pythonVersion: '3.13', ...AL2023 },
  'python3.14': { runtime: 'python3.14', pythonVersion: '3.14', ...AL2023 },
};

export function runtimeInfo(runtime: string): PythonRuntimeInfo {
  const info = PYTHON_RUNTIMES[runtime];
  if (!info) {
    throw new UsageError('RUNTIME_UNKNOWN', `Unknown Lambda runtime "${runtime}"`, {
      hint: `Use one of: ${supportedRuntimes().join(', ')}.`,
    });
  }
  return info;
}

export function supportedRuntimes(now = new Date()): string[] {
  return Object.values(PYTHON_RUNTIMES)
    .filter((r) => !r.deprecated || new Date(r.deprecated) > now)
    .map((r) => r.runtime);
}

/**
 * Refuses a runtime Lambda blocks or has deprecated: deploying onto a runtime without security patches
 * is what this tool exists to stop (the python3.7 Zappa setup broke exactly this way).
 */
export function checkRuntimeSupported(runtime: string, now = new Date()): PythonRuntimeInfo {
  const info = runtimeInfo(runtime);
  const hint = `Set \`runtime\` in pipeline.config.ts to one of ${supportedRuntimes(now).join(', ')} and rebuild (pipe env package).`;
  if (info.blockCreate && new Date(info.blockCreate) <= now) {
    throw new UsageError('RUNTIME_BLOCKED', `Lambda no longer accepts the ${runtime} runtime (deprecated ${info.deprecated}, blocked since ${info.blockCreate})`, { hint });
  }
  if (info.deprecated && new Date(info.deprecated) <= now) {
    throw new UsageError('RUNTIME_DEPRECATED', `The ${runtime} runtime is deprecated since ${info.deprecated}: Lambda no longer patches it${info.blockCreate ? ` and blocks new functions from ${info.blockCreate}` : ''}`, { hint });
  }
  return info;
}
