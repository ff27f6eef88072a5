import {
  DeleteFunctionConcurrencyCommand, DeleteProvisionedConcurrencyConfigCommand, GetAccountSettingsCommand, GetFunctionConcurrencyCommand,
  GetProvisionedConcurrencyConfigCommand, PutFunctionConcurrencyCommand, PutProvisionedConcurrencyConfigCommand,
} from '@aws-sdk/client-lambda';
import type { ResolvedConfig } from '../../config/resolved.js';
import { PipeError } from '../../errors.js';
import { LIMITS } from '../../lambda/facts.js';
import type { StepReporter } from '../../reporter/reporter.js';
import { errorName, isNotFound } from '../rules/aws-errors.js';
import type { AwsClients } from './clients.js';
import type { ResourceNames } from '../rules/names.js';
import { retryConflicts } from './retry.js';
import { writeOptions } from '../rules/write-options.js';

/** The account's numbers and the function's current settings, read before anything is written. */
export interface ConcurrencyState {
  /** ConcurrentExecutions: the account's limit in the region. */
  accountLimit: number;
  /** UnreservedConcurrentExecutions: the limit minus every function's reservation. */
  unreserved: number;
  /** This function's reservation now; undefined: none (or no function yet). */
  reserved?: number;
}

async function readReserved(clients: AwsClients, functionName: string, signal?: AbortSignal): Promise<number | undefined> {
  try {
    const out = await clients.lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: functionName }), { abortSignal: signal });
    return out.ReservedConcurrentExecutions;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

async function readConcurrency(clients: AwsClients, functionName: string, signal?: AbortSignal): Promise<ConcurrencyState> {
  const settings = await clients.lambda.send(new GetAccountSettingsCommand({}), { abortSignal: signal });
  const accountLimit = settings.AccountLimit?.ConcurrentExecutions ?? 1000;
  return {
    accountLimit,
    unreserved: settings.AccountLimit?.UnreservedConcurrentExecutions ?? accountLimit,
    reserved: await readReserved(clients, functionName, signal),
  };
}

/** The most this function may reserve: what is unreserved (its own reservation given back) above the minimum. */
const reservable = (state: ConcurrencyState): number => Math.max(0, state.unreserved + (state.reserved ?? 0) - LIMITS.unreservedConcurrencyMinimum);

function tooMuch(config: Pick<ResolvedConfig, 'region' | 'stage'>, account: string, functionName: string, what: string, wanted: number, state: ConcurrencyState): PipeError {
  const byOthers = state.accountLimit - state.unreserved - (state.reserved ?? 0);
  const max = reservable(state);
  return new PipeError(
    'CONCURRENCY_UNAVAILABLE',
    `${what} is ${wanted}, but account ${account} in ${config.region} can give ${functionName} at most ${max}: ` +
      `its concurrency limit is ${state.accountLimit}, ${byOthers} reserved by other functions, and Lambda keeps ${LIMITS.unreservedConcurrencyMinimum} unreserved`,
    {
      hint: `Lower ${what}${max > 0 ? ` to ${max} or less` : ' or remove it'}, or ask AWS for a higher "Concurrent executions" quota ` +
        '(Service Quotas > AWS Lambda); new accounts often start with 10.',
    },
  );
}

/**
 * Refuses, before anything is written, a reservation (or, without one, provisioned instances taken from
 * the unreserved pool) the account cannot give. Returns the state read, or undefined when the config
 * asks for neither.
 */
export async function checkConcurrencyRoom(
  clients: AwsClients, config: ResolvedConfig, names: ResourceNames, account: string, signal?: AbortSignal,
): Promise<ConcurrencyState | undefined> {
  const { reservedConcurrency: reserved, provisionedConcurrency: provisioned } = config.function;
  if (reserved === undefined && provisioned === undefined) return undefined;
  const state = await readConcurrency(clients, names.functionName, signal);
  if (reserved !== undefined && reserved !== state.reserved && reserved > reservable(state)) {
    throw tooMuch(config, account, names.functionName, 'function.reservedConcurrency', reserved, state);
  }
  // Without a reservation, provisioned instances come out of the unreserved pool.
  const pool = { ...state, unreserved: state.unreserved + (state.reserved ?? 0), reserved: undefined };
  if (reserved === undefined && provisioned !== undefined && provisioned > reservable(pool)) {
    throw tooMuch(config, account, names.functionName, 'function.provisionedConcurrency', provisioned, pool);
  }
  return state;
}

const isBelowMinimum = (error: unknown): boolean =>
  errorName(error) === 'InvalidParameterValueException' && /UnreservedConcurrentExecution below its minimum/i.test((error as Error).message);

/** Sets, changes or removes the function's reservation; no call when it already matches. */
async function ensureReservedConcurrency(
  clients: AwsClients,
  args: { config: ResolvedConfig; names: ResourceNames; account: string; current: number | undefined; reporter: StepReporter; signal?: AbortSignal },
): Promise<boolean> {
  const { names, reporter, signal } = args;
  const wanted = args.config.function.reservedConcurrency;
  if (wanted === args.current) return false;
  const fn = names.functionName;
  if (wanted === undefined) {
    await retryConflicts(clients, () => clients.lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: fn }), writeOptions(signal)), signal);
    reporter.line(`function ${fn}: concurrency cap of ${args.current} removed`);
    return true;
  }
  try {
    await retryConflicts(clients, () => clients.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: fn, ReservedConcurrentExecutions: wanted }), writeOptions(signal)), signal);
  } catch (error) {
    // Another function reserved capacity since the check: the same error, with the numbers as they are now.
    if (!isBelowMinimum(error)) throw error;
    const state = await readConcurrency(clients, fn, signal);
    throw tooMuch(args.config, args.account, fn, 'function.reservedConcurrency', wanted, state);
  }
  reporter.line(`function ${fn}: at most ${wanted} concurrent execution(s)${wanted === 0 ? ' (0: every invocation is throttled)' : ''}`);
  return true;
}

async function readProvisioned(clients: AwsClients, names: ResourceNames, signal?: AbortSignal): Promise<number | undefined> {
  try {
    const out = await clients.lambda.send(new GetProvisionedConcurrencyConfigCommand({ FunctionName: names.functionName, Qualifier: names.liveAlias }), { abortSignal: signal });
    return out.RequestedProvisionedConcurrentExecutions;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Provisioned concurrency on the live alias (it follows the alias to each new version). */
async function ensureProvisionedConcurrency(
  clients: AwsClients, args: { names: ResourceNames; wanted: number | undefined; reporter: StepReporter; signal?: AbortSignal },
): Promise<boolean> {
  const { names, wanted, reporter, signal } = args;
  const current = await readProvisioned(clients, names, signal);
  if (current === wanted) return false;
  const target = { FunctionName: names.functionName, Qualifier: names.liveAlias };
  if (wanted === undefined) {
    await retryConflicts(clients, () => clients.lambda.send(new DeleteProvisionedConcurrencyConfigCommand(target), writeOptions(signal)), signal);
    reporter.line(`alias ${names.liveAlias}: provisioned concurrency removed`);
    return true;
  }
  await retryConflicts(clients, () => clients.lambda.send(new PutProvisionedConcurrencyConfigCommand({ ...target, ProvisionedConcurrentExecutions: wanted }), writeOptions(signal)), signal);
  reporter.line(`alias ${names.liveAlias}: ${wanted} provisioned instance(s)${current === undefined ? '' : ` (was ${current})`}; AWS is allocating them`);
  return true;
}

/**
 * Applies both settings in an order AWS accepts: a reservation may not drop below the provisioned
 * instances, so when provisioned concurrency goes down it changes first, otherwise last.
 */
export async function ensureConcurrency(
  clients: AwsClients,
  args: { config: ResolvedConfig; names: ResourceNames; account: string; state: ConcurrencyState | undefined; reporter: StepReporter; signal?: AbortSignal },
): Promise<boolean> {
  const { config, names, reporter, signal } = args;
  const current = args.state ? args.state.reserved : await readReserved(clients, names.functionName, signal);
  const wanted = config.function.provisionedConcurrency;
  const provisioned = () => ensureProvisionedConcurrency(clients, { names, wanted, reporter, signal });
  const reserved = () => ensureReservedConcurrency(clients, { ...args, current });
  // Provisioned instances must fit in the reservation in force when they change.
  const provisionedFirst = current === undefined || (wanted ?? 0) <= current;
  if (provisionedFirst) {
    const a = await provisioned();
    const b = await reserved();
    return a || b;
  }
  const b = await reserved();
  const a = await provisioned();
  return a || b;
}
