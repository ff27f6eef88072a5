import * as v from 'valibot';
import { isRuntime, runtimeRefusal, supportedRuntimes, type Runtime } from '../lambda/facts.js';
import { didYouMean, show } from './fields.js';

/**
 * `runtime`: a Python runtime Lambda still patches on the day the config is read. The list and the
 * dates are the Lambda facts', so the config never accepts what deploying would refuse.
 */
export const runtimeField = v.pipe(
  v.custom<Runtime>((value) => typeof value === 'string' && isRuntime(value) && runtimeRefusal(value) === undefined, (issue) => {
    const now = new Date();
    const supported = supportedRuntimes(now);
    const allowed = `expected one of ${supported.map((r) => JSON.stringify(r)).join(', ')}`;
    const value = issue.input;
    const why = typeof value === 'string' && isRuntime(value) ? runtimeRefusal(value, now)?.reason : undefined;
    return why ? `is ${show(value)}; ${why}; ${allowed}` : `is ${show(value)}; ${allowed}${didYouMean(value, supported)}`;
  }),
  v.description('a Python runtime Lambda supports'),
);
