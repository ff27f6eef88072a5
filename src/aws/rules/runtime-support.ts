import { UsageError } from '../../errors.js';
import { isRuntime, PYTHON_RUNTIMES, type PythonRuntimeInfo, supportedRuntimes } from '../../lambda/facts.js';

/** The facts of a runtime named in a package manifest, which nothing has checked yet. */
export function runtimeInfo(runtime: string): PythonRuntimeInfo {
  if (!isRuntime(runtime)) {
    throw new UsageError('RUNTIME_UNKNOWN', `Unknown Lambda runtime "${runtime}"`, {
      hint: `Use one of: ${supportedRuntimes().join(', ')}.`,
    });
  }
  return PYTHON_RUNTIMES[runtime];
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
