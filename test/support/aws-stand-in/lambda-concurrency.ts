import { AwsError, invalidParameter, validationError } from './errors.js';
import { emptyResponse, jsonResponse, lambdaTimestamp, type ApiResponse, type StandInContext } from './context.js';
import { requireFunction, resolveVersion, type FunctionRef } from './lambda-settings.js';
import type { FunctionRecord } from './types.js';

/** Lambda keeps this many concurrent executions unreserved, for functions without a reservation. */
export const UNRESERVED_MINIMUM = 100;

const reservedTotal = (ctx: StandInContext, except?: FunctionRecord): number =>
  [...ctx.state.functions.values()].reduce((sum, fn) => sum + (fn === except ? 0 : (fn.reservedConcurrency ?? 0)), 0);

/** GetAccountSettings' UnreservedConcurrentExecutions: the limit minus every function's reservation. */
export function unreservedConcurrency(ctx: StandInContext): number {
  return ctx.state.accountConcurrency - reservedTotal(ctx);
}

const provisionedTotal = (fn: FunctionRecord, except?: string): number =>
  [...fn.provisioned.entries()].reduce((sum, [qualifier, config]) => sum + (qualifier === except ? 0 : config.requested), 0);

function requireCount(value: unknown, member: string, min: number): number {
  if (value === undefined || value === null) throw validationError(`Value null at '${member}' failed to satisfy constraint: Member must not be null`);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw validationError(`Value '${String(value)}' at '${member}' failed to satisfy constraint: Member must have value greater than or equal to ${min}`);
  }
  return value;
}

export function putFunctionConcurrency(ctx: StandInContext, ref: FunctionRef, input: { ReservedConcurrentExecutions?: unknown }): ApiResponse {
  const fn = requireFunction(ctx, ref);
  const wanted = requireCount(input.ReservedConcurrentExecutions, 'reservedConcurrentExecutions', 0);
  if (ctx.state.accountConcurrency - reservedTotal(ctx, fn) - wanted < UNRESERVED_MINIMUM) {
    throw invalidParameter(
      `Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [${UNRESERVED_MINIMUM}].`,
    );
  }
  if (wanted < provisionedTotal(fn)) {
    throw invalidParameter(
      `Specified ReservedConcurrentExecutions for function is less than the function's total provisioned concurrency of [${provisionedTotal(fn)}].`,
    );
  }
  fn.reservedConcurrency = wanted;
  return jsonResponse(200, { ReservedConcurrentExecutions: wanted });
}

export function getFunctionConcurrency(ctx: StandInContext, ref: FunctionRef): ApiResponse {
  const fn = requireFunction(ctx, ref);
  return jsonResponse(200, fn.reservedConcurrency === undefined ? {} : { ReservedConcurrentExecutions: fn.reservedConcurrency });
}

export function deleteFunctionConcurrency(ctx: StandInContext, ref: FunctionRef): ApiResponse {
  const fn = requireFunction(ctx, ref);
  delete fn.reservedConcurrency;
  return emptyResponse(204);
}

/** Provisioned concurrency belongs to a published version or an alias, never $LATEST. */
function provisionedQualifier(ctx: StandInContext, fn: FunctionRecord, qualifier: string | undefined): string {
  if (qualifier === undefined || qualifier === '') throw validationError("Value null at 'qualifier' failed to satisfy constraint: Member must not be null");
  if (qualifier === '$LATEST') throw invalidParameter('Provisioned Concurrency Configs cannot be applied to unpublished function versions.');
  resolveVersion(ctx, fn, qualifier);
  return qualifier;
}

const notFound = () => new AwsError('ProvisionedConcurrencyConfigNotFoundException', 'No Provisioned Concurrency Config found for this function', 404);

function configJson(fn: FunctionRecord, qualifier: string) {
  const config = fn.provisioned.get(qualifier)!;
  const ready = config.status === 'READY';
  return {
    RequestedProvisionedConcurrentExecutions: config.requested,
    AvailableProvisionedConcurrentExecutions: ready ? config.requested : 0,
    AllocatedProvisionedConcurrentExecutions: ready ? config.requested : 0,
    Status: config.status,
    LastModified: config.lastModified,
  };
}

export function putProvisionedConcurrency(ctx: StandInContext, ref: FunctionRef, input: { ProvisionedConcurrentExecutions?: unknown }): ApiResponse {
  const fn = requireFunction(ctx, ref);
  const qualifier = provisionedQualifier(ctx, fn, ref.qualifier);
  const wanted = requireCount(input.ProvisionedConcurrentExecutions, 'provisionedConcurrentExecutions', 1);
  const total = provisionedTotal(fn, qualifier) + wanted;
  if (fn.reservedConcurrency !== undefined) {
    if (total > fn.reservedConcurrency) {
      throw invalidParameter(`Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function [${fn.reservedConcurrency}].`);
    }
  } else {
    // Without a reservation the instances come out of the unreserved pool, which keeps its minimum.
    const othersProvisioned = [...ctx.state.functions.values()]
      .filter((other) => other !== fn && other.reservedConcurrency === undefined)
      .reduce((sum, other) => sum + provisionedTotal(other), 0);
    const available = unreservedConcurrency(ctx) - othersProvisioned - UNRESERVED_MINIMUM;
    if (total > available) {
      throw invalidParameter(`Specified ConcurrentExecutions for function is greater than account's unreserved concurrency [${Math.max(0, available)}].`);
    }
  }
  fn.provisioned.set(qualifier, { requested: wanted, status: 'IN_PROGRESS', lastModified: lambdaTimestamp() });
  return jsonResponse(202, configJson(fn, qualifier));
}

export function getProvisionedConcurrency(ctx: StandInContext, ref: FunctionRef): ApiResponse {
  const fn = requireFunction(ctx, ref);
  const qualifier = provisionedQualifier(ctx, fn, ref.qualifier);
  const config = fn.provisioned.get(qualifier);
  if (!config) throw notFound();
  const body = configJson(fn, qualifier);
  config.status = 'READY';
  return jsonResponse(200, body);
}

export function deleteProvisionedConcurrency(ctx: StandInContext, ref: FunctionRef): ApiResponse {
  const fn = requireFunction(ctx, ref);
  const qualifier = provisionedQualifier(ctx, fn, ref.qualifier);
  if (!fn.provisioned.delete(qualifier)) throw notFound();
  return emptyResponse(204);
}
