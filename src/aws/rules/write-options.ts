import { InterruptedError } from '../../errors.js';

/**
 * Send options for a call that changes something in AWS. Once interrupted no new write starts, but one
 * already sent is not cut off: it finishes and AWS's state stays what pipe last asked for, so the next
 * run picks up from there. (Reads take the abort signal and stop at once.)
 */
export function writeOptions(signal: AbortSignal | undefined): Record<string, never> {
  if (signal?.aborted) throw new InterruptedError('Interrupted before the next AWS change');
  return {};
}
