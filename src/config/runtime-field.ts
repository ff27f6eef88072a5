import * as v from 'valibot';
import { isRuntime, PYTHON_RUNTIMES, supportedRuntimes, type PythonRuntimeInfo, type Runtime } from '../lambda/facts.js';
import { didYouMean, show } from './fields.js';

/**
 * Why Lambda refuses a runtime on `now` (blocked, or deprecated: no more security patches), or
 * undefined when it still patches it.
 */
function refusal(runtime: Runtime, now: Date): string | undefined {
  const info: PythonRuntimeInfo = PYTHON_RUNTIMES[runtime];
  if (info.blockCreate && new Date(info.blockCreate) <= now) {
    return `Lambda no longer accepts it (deprecated ${info.deprecated}, blocked since ${info.blockCreate})`;
  }
  if (info.deprecated && new Date(info.deprecated) <= now) {
    return `deprecated since ${info.deprecated}: Lambda no longer patches it${info.blockCreate ? ` and blocks new functions from ${info.blockCreate}` : ''}`;
  }
  return undefined;
}

/**
 * `runtime`: a Python runtime Lambda still patches on the day the config is read. The list and the
 * dates are the Lambda facts', so the config never accepts what deploying would refuse.
 */
export const runtimeField = v.pipe(
  v.custom<Runtime>((value) => typeof value === 'string' && isRuntime(value) && refusal(value, new Date()) === undefined, (issue) => {
    const now = new Date();
    const supported = supportedRuntimes(now);
    const allowed = `expected one of ${supported.map((r) => JSON.stringify(r)).join(', ')}`;
    const value = issue.input;
    const why = typeof value === 'string' && isRuntime(value) ? refusal(value, now) : undefined;
    return why ? `is ${show(value)}; ${why}; ${allowed}` : `is ${show(value)}; ${allowed}${didYouMean(value, supported)}`;
  }),
  v.description('a Python runtime Lambda supports'),
);
