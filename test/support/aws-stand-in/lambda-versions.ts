import { randomUUID } from 'node:crypto';
import { AwsError, invalidParameter, validationError } from './errors.js';
import { emptyResponse, jsonResponse, lambdaTimestamp, type ApiResponse, type StandInContext } from './context.js';
import {
  assertNotTransitioning,
  assertRevision,
  configurationJson,
  functionArn,
  requireFunction,
  type FunctionRef,
} from './lambda-settings.js';
import { paginate } from './lambda-functions.js';
import type { AliasRecord, FunctionRecord, FunctionVersionRecord } from './types.js';

/** Copies $LATEST into a new numbered version. */
export function publishSnapshot(fn: FunctionRecord, description: string | undefined): FunctionVersionRecord {
  fn.lastVersionNumber += 1;
  const version: FunctionVersionRecord = {
    version: String(fn.lastVersionNumber),
    code: fn.latest.code,
    settings: structuredClone(fn.latest.settings),
    revisionId: randomUUID(),
    lastModified: lambdaTimestamp(),
    versionDescription: description,
  };
  fn.versions.set(version.version, version);
  return version;
}

function sameAsLatest(fn: FunctionRecord, version: FunctionVersionRecord): boolean {
  return (
    version.code.sha256 === fn.latest.code.sha256 &&
    JSON.stringify(version.settings) === JSON.stringify(fn.latest.settings)
  );
}

export function publishVersion(
  ctx: StandInContext,
  ref: FunctionRef,
  input: { CodeSha256?: string; Description?: string; RevisionId?: string },
): ApiResponse {
  const fn = requireFunction(ctx, ref);
  assertNotTransitioning(ctx, fn);
  assertRevision(fn.latest.revisionId, input.RevisionId);
  if (input.CodeSha256 !== undefined && input.CodeSha256 !== fn.latest.code.sha256) {
    throw invalidParameter(
      `CodeSHA256 (${input.CodeSha256}) is different from current CodeSHA256 in $LATEST (${fn.latest.code.sha256}). ` +
        'Please try again with the CodeSHA256 in $LATEST.',
    );
  }
  // Lambda does not publish a version identical to the last one; it returns that one instead.
  const last = fn.versions.get(String(fn.lastVersionNumber));
  const version = last && sameAsLatest(fn, last) ? last : publishSnapshot(fn, input.Description);
  return jsonResponse(201, configurationJson(ctx, fn, version, version.version));
}

export function listVersions(ctx: StandInContext, ref: FunctionRef, query: URLSearchParams): ApiResponse {
  const fn = requireFunction(ctx, ref);
  const all = [
    configurationJson(ctx, fn, fn.latest, '$LATEST'),
    ...[...fn.versions.values()]
      .sort((a, b) => Number(a.version) - Number(b.version))
      .map((version) => configurationJson(ctx, fn, version, version.version)),
  ];
  const { page, next } = paginate(all, query.get('Marker'), query.get('MaxItems'));
  const body: Record<string, unknown> = { Versions: page };
  if (next !== undefined) body['NextMarker'] = next;
  return jsonResponse(200, body);
}

interface AliasInput {
  Name?: string;
  FunctionVersion?: string;
  Description?: string;
  RoutingConfig?: AliasRecord['routingConfig'];
  RevisionId?: string;
}

function aliasJson(ctx: StandInContext, fn: FunctionRecord, alias: AliasRecord): Record<string, unknown> {
  const body: Record<string, unknown> = {
    AliasArn: functionArn(ctx, fn.name, alias.name),
    Name: alias.name,
    FunctionVersion: alias.functionVersion,
    Description: alias.description,
    RevisionId: alias.revisionId,
  };
  if (alias.routingConfig) body['RoutingConfig'] = alias.routingConfig;
  return body;
}

function assertVersionExists(ctx: StandInContext, fn: FunctionRecord, version: string): void {
  if (version !== '$LATEST' && !fn.versions.has(version)) {
    throw new AwsError('ResourceNotFoundException', `Function not found: ${functionArn(ctx, fn.name, version)}`, 404);
  }
}

/**
 * Lambda's rules for an alias's routing configuration: one additional version at most, a weight from 0
 * to 1, two published versions (never $LATEST), not the alias's own version, the same execution role.
 * An empty AdditionalVersionWeights clears the configuration.
 */
function checkedRouting(
  ctx: StandInContext,
  fn: FunctionRecord,
  primary: string,
  routing: AliasRecord['routingConfig'],
): AliasRecord['routingConfig'] {
  const weights = Object.entries(routing?.AdditionalVersionWeights ?? {});
  if (weights.length === 0) return undefined;
  if (weights.length > 1) {
    throw validationError(`Value '${JSON.stringify(routing!.AdditionalVersionWeights)}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Member must have length less than or equal to 1`);
  }
  const [version, weight] = weights[0]!;
  if (typeof weight !== 'number' || !(weight >= 0 && weight <= 1)) {
    throw validationError(`Value '${String(weight)}' at 'routingConfig.additionalVersionWeights.${version}.member' failed to satisfy constraint: Member must have value less than or equal to 1.0`);
  }
  if (primary === '$LATEST' || version === '$LATEST') {
    throw invalidParameter('$LATEST is not supported for an alias pointing to more than 1 version');
  }
  assertVersionExists(ctx, fn, version);
  if (version === primary) throw invalidParameter(`Invalid function version ${version}. Function version ${version} is already included in routing configuration.`);
  const roleOf = (v: string) => fn.versions.get(v)?.settings.role;
  if (roleOf(version) !== roleOf(primary)) {
    throw invalidParameter('Function versions in the routing configuration must have the same execution role.');
  }
  return { AdditionalVersionWeights: { [version]: weight } };
}

function requireAlias(ctx: StandInContext, fn: FunctionRecord, name: string): AliasRecord {
  const alias = fn.aliases.get(name);
  if (!alias) throw new AwsError('ResourceNotFoundException', `Alias not found: ${functionArn(ctx, fn.name, name)}`, 404);
  return alias;
}

export function createAlias(ctx: StandInContext, ref: FunctionRef, input: AliasInput): ApiResponse {
  const fn = requireFunction(ctx, ref);
  const name = input.Name ?? '';
  if (!/^(?!^[0-9]+$)([a-zA-Z0-9-_]+)$/.test(name) || name.length > 128) {
    throw validationError(`Value '${name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)`);
  }
  if (input.FunctionVersion === undefined) {
    throw validationError(`Value null at 'functionVersion' failed to satisfy constraint: Member must not be null`);
  }
  assertVersionExists(ctx, fn, input.FunctionVersion);
  if (fn.aliases.has(name)) {
    throw new AwsError('ResourceConflictException', `Alias already exists: ${functionArn(ctx, fn.name, name)}`, 409);
  }
  const alias: AliasRecord = {
    name,
    functionVersion: input.FunctionVersion,
    description: input.Description ?? '',
    revisionId: randomUUID(),
    routingConfig: checkedRouting(ctx, fn, input.FunctionVersion, input.RoutingConfig),
  };
  fn.aliases.set(name, alias);
  return jsonResponse(201, aliasJson(ctx, fn, alias));
}

export function getAlias(ctx: StandInContext, ref: FunctionRef, name: string): ApiResponse {
  const fn = requireFunction(ctx, ref);
  return jsonResponse(200, aliasJson(ctx, fn, requireAlias(ctx, fn, name)));
}

export function updateAlias(ctx: StandInContext, ref: FunctionRef, name: string, input: AliasInput): ApiResponse {
  const fn = requireFunction(ctx, ref);
  const alias = requireAlias(ctx, fn, name);
  assertRevision(alias.revisionId, input.RevisionId);
  if (input.FunctionVersion !== undefined) assertVersionExists(ctx, fn, input.FunctionVersion);
  const version = input.FunctionVersion ?? alias.functionVersion;
  // An update that leaves RoutingConfig out keeps the alias's, which must still fit its version.
  const routing = checkedRouting(ctx, fn, version, input.RoutingConfig ?? alias.routingConfig);
  alias.functionVersion = version;
  alias.routingConfig = routing;
  if (input.Description !== undefined) alias.description = input.Description;
  alias.revisionId = randomUUID();
  return jsonResponse(200, aliasJson(ctx, fn, alias));
}

export async function deleteAlias(ctx: StandInContext, ref: FunctionRef, name: string): Promise<ApiResponse> {
  const fn = requireFunction(ctx, ref);
  // DeleteAlias is idempotent on AWS: a missing alias is not an error.
  if (fn.aliases.delete(name)) {
    fn.policies.delete(name);
    fn.provisioned.delete(name);
    if (fn.urlConfigs.delete(name)) await ctx.urls.close(fn.name, name);
  }
  return emptyResponse(204);
}

export function listAliases(ctx: StandInContext, ref: FunctionRef, query: URLSearchParams): ApiResponse {
  const fn = requireFunction(ctx, ref);
  const version = query.get('FunctionVersion');
  const all = [...fn.aliases.values()]
    .filter((alias) => version === null || alias.functionVersion === version)
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((alias) => aliasJson(ctx, fn, alias));
  const { page, next } = paginate(all, query.get('Marker'), query.get('MaxItems'));
  const body: Record<string, unknown> = { Aliases: page };
  if (next !== undefined) body['NextMarker'] = next;
  return jsonResponse(200, body);
}
