import {
  AddPermissionCommand, CreateAliasCommand, CreateFunctionUrlConfigCommand, GetAliasCommand, GetFunctionUrlConfigCommand, GetPolicyCommand,
  RemovePermissionCommand, UpdateAliasCommand, UpdateFunctionUrlConfigCommand, type AliasConfiguration, type Cors,
} from '@aws-sdk/client-lambda';
import type { ResolvedConfig } from '../../config/resolved.js';
import { errorName, isNotFound } from '../rules/aws-errors.js';
import type { AwsClients } from './clients.js';
import { retryConflicts } from './retry.js';
import { writeOptions } from '../rules/write-options.js';

export type UrlAuth = 'NONE' | 'AWS_IAM';

/** Statement ids of the two grants a public Function URL needs (both required since October 2025). */
export const PUBLIC_URL_SID = 'pipe-public-url';
export const PUBLIC_INVOKE_SID = 'pipe-public-invoke';

export function corsOf(cors: ResolvedConfig['url']['cors']): Cors | undefined {
  if (!cors) return undefined;
  return { AllowOrigins: cors.allowOrigins, AllowMethods: cors.allowMethods, AllowHeaders: cors.allowHeaders, MaxAge: cors.maxAge };
}

const sameList = (a: string[] | undefined, b: string[] | undefined): boolean => JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
const sameCors = (a: Cors | undefined, b: Cors | undefined): boolean =>
  sameList(a?.AllowOrigins, b?.AllowOrigins) && sameList(a?.AllowMethods, b?.AllowMethods) && sameList(a?.AllowHeaders, b?.AllowHeaders) && (a?.MaxAge ?? 0) === (b?.MaxAge ?? 0);

export async function getAlias(clients: AwsClients, functionName: string, alias: string, signal?: AbortSignal): Promise<AliasConfiguration | undefined> {
  try {
    return await clients.lambda.send(new GetAliasCommand({ FunctionName: functionName, Name: alias }), { abortSignal: signal });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export async function getAliasVersion(clients: AwsClients, functionName: string, alias: string, signal?: AbortSignal): Promise<string | undefined> {
  return (await getAlias(clients, functionName, alias, signal))?.FunctionVersion;
}

/** The version an alias sends a share of its traffic to, and the share (0 to 1); undefined when there is none. */
export function weightedVersion(alias: AliasConfiguration | undefined): { version: string; weight: number } | undefined {
  const [entry] = Object.entries(alias?.RoutingConfig?.AdditionalVersionWeights ?? {});
  return entry ? { version: entry[0], weight: entry[1] } : undefined;
}

/**
 * Points the alias at `version`, with `weight` of its traffic going to `extra.version`, or all of it to
 * `version` (a routing configuration it had is cleared). No call when it already is so.
 */
export async function pointAlias(
  clients: AwsClients, functionName: string, alias: string, version: string, signal?: AbortSignal, extra?: { version: string; weight: number },
): Promise<boolean> {
  const current = await getAlias(clients, functionName, alias, signal);
  const had = weightedVersion(current);
  if (current?.FunctionVersion === version && had?.version === extra?.version && had?.weight === extra?.weight) return false;
  const input = {
    FunctionName: functionName, Name: alias, FunctionVersion: version,
    ...(extra ? { RoutingConfig: { AdditionalVersionWeights: { [extra.version]: extra.weight } } } : had ? { RoutingConfig: { AdditionalVersionWeights: {} } } : {}),
  };
  await retryConflicts(
    clients,
    () => (current === undefined
      ? clients.lambda.send(new CreateAliasCommand(input), writeOptions(signal))
      : clients.lambda.send(new UpdateAliasCommand(input), writeOptions(signal))),
    signal,
  );
  return true;
}

export async function getUrl(clients: AwsClients, functionName: string, qualifier: string, signal?: AbortSignal): Promise<{ url: string; auth: string; cors?: Cors } | undefined> {
  try {
    const c = await clients.lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: functionName, Qualifier: qualifier }), { abortSignal: signal });
    return { url: c.FunctionUrl!, auth: c.AuthType!, cors: c.Cors };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Creates or corrects the Function URL of an alias; returns its address. */
export async function ensureUrl(
  clients: AwsClients, args: { functionName: string; qualifier: string; auth: UrlAuth; cors?: Cors }, signal?: AbortSignal,
): Promise<{ url: string; changed: boolean }> {
  const current = await getUrl(clients, args.functionName, args.qualifier, signal);
  const input = { FunctionName: args.functionName, Qualifier: args.qualifier, AuthType: args.auth, Cors: args.cors };
  if (!current) {
    const created = await retryConflicts(clients, () => clients.lambda.send(new CreateFunctionUrlConfigCommand(input), writeOptions(signal)), signal);
    return { url: created.FunctionUrl!, changed: true };
  }
  if (current.auth === args.auth && sameCors(current.cors, args.cors)) return { url: current.url, changed: false };
  const updated = await retryConflicts(clients, () => clients.lambda.send(new UpdateFunctionUrlConfigCommand({ ...input, Cors: args.cors ?? {} }), writeOptions(signal)), signal);
  return { url: updated.FunctionUrl ?? current.url, changed: true };
}

/** One statement of a function's resource-based policy, as GetPolicy returns it. */
export interface PolicyStatement {
  Sid?: string;
  Principal?: string | { Service?: string; AWS?: string };
  Action?: string;
  Condition?: Record<string, Record<string, string>>;
}

/** The statements of the resource policy on `qualifier`; none when it has no policy. */
export async function policyStatements(clients: AwsClients, functionName: string, qualifier: string, signal?: AbortSignal): Promise<PolicyStatement[]> {
  try {
    const { Policy } = await clients.lambda.send(new GetPolicyCommand({ FunctionName: functionName, Qualifier: qualifier }), { abortSignal: signal });
    return (JSON.parse(Policy ?? '{}') as { Statement?: PolicyStatement[] }).Statement ?? [];
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}

async function policyStatementIds(clients: AwsClients, functionName: string, qualifier: string, signal?: AbortSignal): Promise<string[]> {
  return (await policyStatements(clients, functionName, qualifier, signal)).flatMap((s) => (s.Sid ? [s.Sid] : []));
}

/**
 * A public (auth NONE) URL needs lambda:InvokeFunctionUrl and lambda:InvokeFunction for everyone on the
 * alias; an AWS_IAM URL must not keep them. Adds or removes only what differs.
 */
export async function ensurePublicAccess(clients: AwsClients, functionName: string, qualifier: string, auth: UrlAuth, signal?: AbortSignal): Promise<boolean> {
  const sids = new Set(await policyStatementIds(clients, functionName, qualifier, signal));
  let changed = false;
  const grants = [
    { StatementId: PUBLIC_URL_SID, Action: 'lambda:InvokeFunctionUrl', FunctionUrlAuthType: 'NONE' as const },
    { StatementId: PUBLIC_INVOKE_SID, Action: 'lambda:InvokeFunction', InvokedViaFunctionUrl: true },
  ];
  for (const grant of grants) {
    if (auth === 'NONE' && !sids.has(grant.StatementId)) {
      try {
        await retryConflicts(clients, () => clients.lambda.send(new AddPermissionCommand({ FunctionName: functionName, Qualifier: qualifier, Principal: '*', ...grant }), writeOptions(signal)), signal);
      } catch (error) {
        // Another run added it between our read and this write: the statement id is already taken.
        if (errorName(error) !== 'ResourceConflictException' || !/already exists/i.test((error as Error).message)) throw error;
      }
      changed = true;
    } else if (auth === 'AWS_IAM' && sids.has(grant.StatementId)) {
      await clients.lambda.send(new RemovePermissionCommand({ FunctionName: functionName, Qualifier: qualifier, StatementId: grant.StatementId }), writeOptions(signal));
      changed = true;
    }
  }
  return changed;
}
