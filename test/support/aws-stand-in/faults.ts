import { AwsError, ForeignAnswer, type RawAnswer } from './errors.js';
import type { AwsServiceName } from './types.js';

/**
 * Fault injection. An action is named as the API names it (`CreateFunction`), optionally prefixed
 * with the IAM service prefix (`lambda:CreateFunction`, `iam:CreateRole`, `logs:FilterLogEvents`);
 * `*` matches every action.
 */
export interface Faults {
  /** The next `times` calls of the action are throttled (Lambda 429 TooManyRequestsException, IAM/STS Throttling, Logs ThrottlingException). */
  throttle(action: string, times?: number): void;
  /** The next `times` calls of the action fail with a 5xx service error (Lambda 500 ServiceException, IAM 500 ServiceFailure, Logs 503 ServiceUnavailableException). */
  serverError(action: string, times?: number): void;
  /** Every call of the action is denied (403 AccessDenied/AccessDeniedException naming action and resource) until `allow` or `clear`. */
  accessDenied(action: string): void;
  allow(action: string): void;
  /**
   * Not AWS's behaviour, and never a default: something in front of the service (a proxy, a firewall,
   * an emulator) answers the next `times` calls of the action with this raw response, e.g. an XML or
   * HTML 403 to a JSON API. For testing what the client makes of an answer that is not an AWS error.
   */
  foreignAnswer(action: string, answer: RawAnswer, times?: number): void;
  /** Removes every injected fault. */
  clear(): void;
}

export interface FaultBook extends Faults {
  /** Throws the injected error for this call, if any, consuming one injected occurrence. */
  check(service: AwsServiceName, action: string, resource: string, callerArn: string): void;
}

const IAM_PREFIX: Record<AwsServiceName, string> = { lambda: 'lambda', iam: 'iam', logs: 'logs', sts: 'sts', events: 'events', monitoring: 'cloudwatch' };

export function createFaults(): FaultBook {
  const throttles = new Map<string, number>();
  const serverErrors = new Map<string, number>();
  const denied = new Set<string>();
  const foreign = new Map<string, { answer: RawAnswer; left: number }>();

  function matching(keys: Iterable<string>, service: AwsServiceName, action: string): string | undefined {
    const names = new Set([action, `${IAM_PREFIX[service]}:${action}`, '*']);
    for (const key of keys) if (names.has(key)) return key;
    return undefined;
  }

  function consume(counts: Map<string, number>, key: string | undefined): boolean {
    if (key === undefined) return false;
    const left = counts.get(key) ?? 0;
    if (left <= 0) return false;
    if (left === 1) counts.delete(key);
    else counts.set(key, left - 1);
    return true;
  }

  return {
    throttle(action, times = 1) {
      throttles.set(action, (throttles.get(action) ?? 0) + times);
    },
    serverError(action, times = 1) {
      serverErrors.set(action, (serverErrors.get(action) ?? 0) + times);
    },
    accessDenied(action) {
      denied.add(action);
    },
    allow(action) {
      denied.delete(action);
    },
    foreignAnswer(action, answer, times = 1) {
      foreign.set(action, { answer, left: times });
    },
    clear() {
      foreign.clear();
      throttles.clear();
      serverErrors.clear();
      denied.clear();
    },
    check(service, action, resource, callerArn) {
      const foreignKey = matching(foreign.keys(), service, action);
      const injected = foreignKey === undefined ? undefined : foreign.get(foreignKey);
      if (injected && foreignKey !== undefined) {
        if (--injected.left <= 0) foreign.delete(foreignKey);
        throw new ForeignAnswer(injected.answer);
      }
      const iamAction = `${IAM_PREFIX[service]}:${action}`;
      if (matching(denied, service, action) !== undefined) {
        const message =
          `User: ${callerArn} is not authorized to perform: ${iamAction} on resource: ${resource} ` +
          `because no identity-based policy allows the ${iamAction} action`;
        const code = service === 'iam' || service === 'sts' || service === 'monitoring' ? 'AccessDenied' : 'AccessDeniedException';
        throw new AwsError(code, message, service === 'logs' || service === 'events' ? 400 : 403);
      }
      if (consume(throttles, matching(throttles.keys(), service, action))) {
        switch (service) {
          case 'lambda':
            throw new AwsError('TooManyRequestsException', 'Rate exceeded', 429, 'Sender', { 'retry-after': '1' });
          case 'logs':
          case 'events':
            throw new AwsError('ThrottlingException', 'Rate exceeded', 400);
          case 'iam':
          case 'sts':
          case 'monitoring':
            throw new AwsError('Throttling', 'Rate exceeded', 400);
        }
      }
      if (consume(serverErrors, matching(serverErrors.keys(), service, action))) {
        switch (service) {
          case 'lambda':
            throw new AwsError('ServiceException', 'An internal error occurred. Please try again.', 500);
          case 'logs':
            throw new AwsError('ServiceUnavailableException', 'The service cannot complete the request.', 503);
          case 'events':
            throw new AwsError('InternalException', 'An internal error occurred.', 500);
          case 'iam':
            throw new AwsError('ServiceFailure', 'The request processing has failed because of an unknown error, exception or failure.', 500);
          case 'sts':
          case 'monitoring':
            throw new AwsError('InternalFailure', 'The request processing has failed because of an unknown error, exception or failure.', 500);
        }
      }
    },
  };
}
