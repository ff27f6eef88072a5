import { setTimeout as sleep } from 'node:timers/promises';
import { isConflict, isRoleNotReady } from '../rules/retryable.js';
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

export function retryConflicts<T>(clients: AwsClients, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  return retrying(fn, { retryable: isConflict, maxWait: 120, minDelay: clients.poll.minDelay / 2, maxDelay: clients.poll.maxDelay, signal });
}

export function retryUntilRoleReady<T>(clients: AwsClients, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  return retrying(fn, { retryable: (e) => isRoleNotReady(e) || isConflict(e), maxWait: 90, minDelay: clients.poll.minDelay, maxDelay: clients.poll.maxDelay, signal });
}
