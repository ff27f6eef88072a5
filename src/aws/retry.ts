import { setTimeout as sleep } from 'node:timers/promises';
import { errorName } from './aws-errors.js';
import type { AwsClients } from './clients.js';

export interface RetryOptions {
  /** Which errors are worth another try. */
  retryable(error: unknown): boolean;
  /** Give up after this many seconds. */
  maxWait: number;
  minDelay: number;
  maxDelay: number;
  signal?: AbortSignal;
}

/** Retries `fn` with exponential backoff while `retryable` says so and time remains. */
export async function retrying<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  const deadline = Date.now() + options.maxWait * 1000;
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await fn();
    } catch (error) {
      const delay = Math.min(options.maxDelay, options.minDelay * 2 ** attempt) * 1000;
      if (!options.retryable(error) || Date.now() + delay > deadline) throw error;
      await sleep(delay, undefined, { signal: options.signal });
    }
  }
}

/**
 * Lambda refuses changes while an update is in progress (409); they succeed once it settles. The same
 * exception also says "already exists" (statement id, alias, URL config): retrying that cannot help.
 */
export const isConflict = (error: unknown): boolean =>
  errorName(error) === 'ResourceConflictException' && !/already exists|\bexists\b/i.test((error as Error).message ?? '');

/** A freshly created IAM role takes seconds to become assumable by Lambda (eventual consistency). */
export const isRoleNotReady = (error: unknown): boolean =>
  errorName(error) === 'InvalidParameterValueException' && /cannot be assumed|role defined for the function/i.test((error as Error).message);

export function retryConflicts<T>(clients: AwsClients, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  return retrying(fn, { retryable: isConflict, maxWait: 120, minDelay: clients.poll.minDelay / 2, maxDelay: clients.poll.maxDelay, signal });
}

export function retryUntilRoleReady<T>(clients: AwsClients, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  return retrying(fn, { retryable: (e) => isRoleNotReady(e) || isConflict(e), maxWait: 90, minDelay: clients.poll.minDelay, maxDelay: clients.poll.maxDelay, signal });
}
