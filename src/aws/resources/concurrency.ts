import {
  DeleteFunctionConcurrencyCommand, DeleteProvisionedConcurrencyConfigCommand, GetAccountSettingsCommand, GetFunctionConcurrencyCommand,
  GetProvisionedConcurrencyConfigCommand, PutFunctionConcurrencyCommand, PutProvisionedConcurrencyConfigCommand, TagResourceCommand,
  UntagResourceCommand,
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

/**
 * Tags pipe puts on the function when it sets a reservation or provisioned instances, and removes with
 * them: an optional setting is read only when the config asks for it or a tag says pipe set it, so an
 * untouched one costs no call (and an endpoint without those APIs still deploys), while removing a
 * setting from the config still removes it.
 */
export const CONCURRENCY_MARKERS = { reserved: 'pipe:reserved-concurrency', provisioned: 'pipe:provisioned-concurrency' } as const;

/** The function as deploy found it: its ARN (for tags) and tags (undefined: no function yet). */
export interface FunctionMarks {
  arn: string;
  tags?: Record<string, string>;
}

const marked = (fn: FunctionMarks, which: keyof typeof CONCURRENCY_MARKERS): boolean => fn.tags?.[CONCURRENCY_MARKERS[which]] === 'true';

async function mark(clients: AwsClients, fn: FunctionMarks, which: keyof typeof CONCURRENCY_MARKERS, on: boolean, signal?: AbortSignal): Promise<void> {
  if (marked(fn, which) === on) return;
  const key = CONCURRENCY_MARKERS[which];
  if (on) await clients.lambda.send(new TagResourceCommand({ Resource: fn.arn, Tags: { [key]: 'true' } }), writeOptions(signal));
  else await clients.lambda.send(new UntagResourceCommand({ Resource: fn.arn, TagKeys: [key] }), writeOptions(signal));
  fn.tags = { ...fn.tags };
  if (on) fn.tags[key] = 'true';
  else delete fn.tags[key];
}

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

async function readConcurrency(clients: AwsClients, functionName: string, readReservation: boolean, signal?: AbortSignal): Promise<ConcurrencyState> {
  const settings = await clients.lambda.send(new GetAccountSettingsCommand({}), { abortSignal: signal });
  const accountLimit = settings.AccountLimit?.ConcurrentExecutions ?? 1000;
  return {
    accountLimit,
    unreserved: settings.AccountLimit?.UnreservedConcurrentExecutions ?? accountLimit,
    reserved: readReservation ? await readReserved(clients, functionName, signal) : undefined,
  };
}

/** An answer that is not Lambda's: an endpoint (an emulator) without this API. */
const isMissingApi = (error: unknown): boolean => error instanceof PipeError && error.code === 'AWS_UNEXPECTED_ANSWER' && /answered HTTP 404/.test(error.message);

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
  clients: AwsClients, config: ResolvedConfig, names: ResourceNames, account: string, fn: FunctionMarks, reporter: StepReporter, signal?: AbortSignal,
): Promise<ConcurrencyState | undefined> {
  const { reservedConcurrency: reserved, provisionedConcurrency: provisioned } = config.function;
  if (reserved === undefined && provisioned === undefined) return undefined;
  let state: ConcurrencyState;
  try {
    state = await readConcurrency(clients, names.functionName, fn.tags !== undefined && (reserved !== undefined || marked(fn, 'reserved')), signal);
  } catch (error) {
    if (!isMissingApi(error)) throw error;
    reporter.line(`the endpoint has no GetAccountSettings (${(error as Error).message.split(':')[0]}): the account's concurrency room is not checked first; the write decides`, 'warn');
    return undefined;
  }
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
  args: { config: ResolvedConfig; names: ResourceNames; account: string; current: number | undefined; marks: FunctionMarks; reporter: StepReporter; signal?: AbortSignal },
): Promise<boolean> {
  const { names, reporter, signal } = args;
  const wanted = args.config.function.reservedConcurrency;
  if (wanted === args.current) {
    // In place already: the tag follows (a reservation set before pipe tagged them gets its tag once).
    await mark(clients, args.marks, 'reserved', wanted !== undefined, signal);
    return false;
  }
  const fn = names.functionName;
  if (wanted === undefined) {
    await retryConflicts(clients, () => clients.lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: fn }), writeOptions(signal)), signal);
    await mark(clients, args.marks, 'reserved', false, signal);
    reporter.line(`function ${fn}: concurrency cap of ${args.current} removed`);
    return true;
  }
  try {
    await retryConflicts(clients, () => clients.lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: fn, ReservedConcurrentExecutions: wanted }), writeOptions(signal)), signal);
  } catch (error) {
    // Another function reserved capacity since the check: the same error, with the numbers as they are now.
    if (!isBelowMinimum(error)) throw error;
    const state = await readConcurrency(clients, fn, true, signal);
    throw tooMuch(args.config, args.account, fn, 'function.reservedConcurrency', wanted, state);
  }
  await mark(clients, args.marks, 'reserved', true, signal);
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
  clients: AwsClients, args: { names: ResourceNames; wanted: number | undefined; marks: FunctionMarks; reporter: StepReporter; signal?: AbortSignal },
): Promise<boolean> {
  const { names, wanted, marks, reporter, signal } = args;
  // Neither asked for nor set by pipe: nothing to read.
  if (wanted === undefined && !marked(marks, 'provisioned')) return false;
  const current = await readProvisioned(clients, names, signal);
  if (current === wanted) {
    await mark(clients, marks, 'provisioned', wanted !== undefined, signal);
    return false;
  }
  const target = { FunctionName: names.functionName, Qualifier: names.liveAlias };
  if (wanted === undefined) {
    if (current !== undefined) await retryConflicts(clients, () => clients.lambda.send(new DeleteProvisionedConcurrencyConfigCommand(target), writeOptions(signal)), signal);
    await mark(clients, marks, 'provisioned', false, signal);
    if (current !== undefined) reporter.line(`alias ${names.liveAlias}: provisioned concurrency removed`);
    return current !== undefined;
  }
  await retryConflicts(clients, () => clients.lambda.send(new PutProvisionedConcurrencyConfigCommand({ ...target, ProvisionedConcurrentExecutions: wanted }), writeOptions(signal)), signal);
  await mark(clients, marks, 'provisioned', true, signal);
  reporter.line(`alias ${names.liveAlias}: ${wanted} provisioned instance(s)${current === undefined ? '' : ` (was ${current})`}; AWS is allocating them`);
  return true;
}

/**
 * Applies both settings in an order AWS accepts: a reservation may not drop below the provisioned
 * instances, so when provisioned concurrency goes down it changes first, otherwise last.
 */
export async function ensureConcurrency(
  clients: AwsClients,
  args: { config: ResolvedConfig; names: ResourceNames; account: string; state: ConcurrencyState | undefined; marks: FunctionMarks; reporter: StepReporter; signal?: AbortSignal },
): Promise<boolean> {
  const { config, names, marks, reporter, signal } = args;
  const readsReservation = config.function.reservedConcurrency !== undefined || marked(marks, 'reserved');
  const current = args.state ? args.state.reserved : readsReservation ? await readReserved(clients, names.functionName, signal) : undefined;
  const wanted = config.function.provisionedConcurrency;
  const provisioned = () => ensureProvisionedConcurrency(clients, { names, wanted, marks, reporter, signal });
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
