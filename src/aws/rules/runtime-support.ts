import { UsageError } from '../../errors.js';
import { isRuntime, PYTHON_RUNTIMES, type PythonRuntimeInfo, type Runtime, runtimeRefusal, supportedRuntimes } from '../../lambda/facts.js';

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
  const refused = runtimeRefusal(runtime as Runtime, now);
  if (refused) {
    throw new UsageError(refused.code, `The ${runtime} runtime: ${refused.reason}`, {
      hint: `Set \`runtime\` in pipeline.config.ts to one of ${supportedRuntimes(now).join(', ')} and rebuild (pipe env package).`,
    });
  }
  return info;
}
