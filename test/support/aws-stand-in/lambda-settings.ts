import { AwsError, invalidParameter, validationError } from './errors.js';
import type { StandInContext } from './context.js';
import type { FunctionRecord, FunctionSettings, FunctionVersionRecord, LatestRecord } from './types.js';
import { UNZIPPED_LIMIT } from './code.js';

/** Runtimes Lambda accepts for new functions and updates. */
const SUPPORTED_RUNTIMES = new Set([
  'python3.9', 'python3.10', 'python3.11', 'python3.12', 'python3.13', 'python3.14',
  'nodejs18.x', 'nodejs20.x', 'nodejs22.x', 'nodejs24.x',
  'java11', 'java17', 'java21', 'java8.al2', 'dotnet8', 'ruby3.3', 'ruby3.4',
  'provided.al2', 'provided.al2023',
]);
/** Runtimes that still exist in the API's enum but can no longer be used to create or update. */
const BLOCKED_RUNTIMES = new Set([
  'python2.7', 'python3.6', 'python3.7', 'python3.8',
  'nodejs', 'nodejs4.3', 'nodejs6.10', 'nodejs8.10', 'nodejs10.x', 'nodejs12.x', 'nodejs14.x', 'nodejs16.x',
  'java8', 'dotnetcore2.1', 'dotnetcore3.1', 'dotnet6', 'ruby2.5', 'ruby2.7', 'ruby3.2', 'go1.x', 'provided',
]);

/** Environment keys the Lambda runtime sets itself and refuses to take from configuration. */
const RESERVED_ENV_KEYS = new Set([
  '_HANDLER', '_X_AMZN_TRACE_ID', 'AWS_DEFAULT_REGION', 'AWS_REGION', 'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE', 'AWS_LAMBDA_LOG_GROUP_NAME', 'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API', 'LAMBDA_TASK_ROOT', 'LAMBDA_RUNTIME_DIR',
]);

/** A function reference as the API accepts it: name, partial ARN or ARN, with optional qualifier. */
export interface FunctionRef {
  name: string;
  qualifier?: string;
}

const NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

export function parseFunctionRef(ctx: StandInContext, raw: string, qualifierParam?: string | null): FunctionRef {
  let rest = raw;
  const arn = /^arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):(\d{12}):function:(.+)$/.exec(raw);
  const partial = /^(\d{12}):function:(.+)$/.exec(raw);
  let account: string | undefined;
  if (arn) {
    account = arn[2];
    rest = arn[3]!;
  } else if (partial) {
    account = partial[1];
    rest = partial[2]!;
  }
  const [name = '', embedded, ...extra] = rest.split(':');
  if (!NAME_PATTERN.test(name) || extra.length > 0) {
    throw validationError(
      `Value '${raw}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: ` +
        '(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?',
    );
  }
  if (account !== undefined && account !== ctx.state.accountId) {
    throw new AwsError('AccessDeniedException', `User: ${ctx.callerArn} is not authorized to access ${raw}`, 403);
  }
  const qualifier = qualifierParam ?? undefined;
  if (embedded !== undefined && qualifier !== undefined && embedded !== qualifier) {
    throw invalidParameter('The derived qualifier from the function name does not match the specified qualifier.');
  }
  return { name, qualifier: embedded ?? qualifier };
}

export function functionArn(ctx: StandInContext, name: string, qualifier?: string): string {
  const base = `arn:aws:lambda:${ctx.state.region}:${ctx.state.accountId}:function:${name}`;
  return qualifier === undefined ? base : `${base}:${qualifier}`;
}

export function requireFunction(ctx: StandInContext, ref: FunctionRef): FunctionRecord {
  const fn = ctx.state.functions.get(ref.name);
  if (!fn) throw functionNotFound(ctx, ref.name, ref.qualifier);
  return fn;
}

export function functionNotFound(ctx: StandInContext, name: string, qualifier?: string): AwsError {
  return new AwsError('ResourceNotFoundException', `Function not found: ${functionArn(ctx, name, qualifier)}`, 404);
}

/** Resolves a qualifier ($LATEST, version number or alias) to the version record it names. */
export function resolveVersion(ctx: StandInContext, fn: FunctionRecord, qualifier?: string): FunctionVersionRecord {
  if (qualifier === undefined || qualifier === '$LATEST') return fn.latest;
  const version = fn.versions.get(qualifier);
  if (version) return version;
  const alias = fn.aliases.get(qualifier);
  if (alias) return resolveVersion(ctx, fn, alias.functionVersion);
  throw functionNotFound(ctx, fn.name, qualifier);
}

/** The 409 Lambda answers while a function is being created or updated. */
export function assertNotTransitioning(ctx: StandInContext, fn: FunctionRecord): void {
  if (fn.latest.state === 'Pending') {
    throw new AwsError(
      'ResourceConflictException',
      'The operation cannot be performed at this time. The function is currently in the following state: Pending',
      409,
    );
  }
  if (fn.latest.lastUpdateStatus === 'InProgress') {
    throw new AwsError(
      'ResourceConflictException',
      `The operation cannot be performed at this time. An update is in progress for resource: ${fn.arn}`,
      409,
    );
  }
}

export function assertRevision(actual: string, expected: unknown): void {
  if (expected !== undefined && expected !== actual) {
    throw new AwsError(
      'PreconditionFailedException',
      'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id',
      412,
    );
  }
}

/** Fields shared by CreateFunction and UpdateFunctionConfiguration, as sent in the JSON body. */
export interface SettingsInput {
  Runtime?: string;
  Handler?: string;
  Role?: string;
  Description?: string;
  Timeout?: number;
  MemorySize?: number;
  Environment?: { Variables?: Record<string, string> };
  Layers?: string[];
  Architectures?: string[];
  EphemeralStorage?: { Size?: number };
}

function inRange(value: number | undefined, member: string, min: number, max: number): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min) {
    throw validationError(`Value '${value}' at '${member}' failed to satisfy constraint: Member must have value greater than or equal to ${min}`);
  }
  if (value > max) {
    throw validationError(`Value '${value}' at '${member}' failed to satisfy constraint: Member must have value less than or equal to ${max}`);
  }
}

/** Applies and validates settings the way Lambda checks them (IAM trust included). */
export function applySettings(ctx: StandInContext, base: FunctionSettings, input: SettingsInput): FunctionSettings {
  const next: FunctionSettings = { ...base };
  if (input.Runtime !== undefined) {
    if (BLOCKED_RUNTIMES.has(input.Runtime)) {
      throw invalidParameter(
        `The runtime parameter of ${input.Runtime} is no longer supported for creating or updating AWS Lambda functions. ` +
          'We recommend you use a supported runtime while creating or updating functions.',
      );
    }
    if (!SUPPORTED_RUNTIMES.has(input.Runtime)) {
      throw validationError(
        `Value '${input.Runtime}' at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [${[...SUPPORTED_RUNTIMES].join(', ')}]`,
      );
    }
    next.runtime = input.Runtime;
  }
  if (input.Handler !== undefined) {
    if (!/^[^\s]{1,128}$/.test(input.Handler)) {
      throw validationError(`Value '${input.Handler}' at 'handler' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\\s]+`);
    }
    next.handler = input.Handler;
  }
  if (input.Description !== undefined) next.description = input.Description;
  inRange(input.Timeout, 'timeout', 1, 900);
  if (input.Timeout !== undefined) next.timeout = input.Timeout;
  inRange(input.MemorySize, 'memorySize', 128, 10240);
  if (input.MemorySize !== undefined) next.memorySize = input.MemorySize;
  if (input.EphemeralStorage?.Size !== undefined) {
    inRange(input.EphemeralStorage.Size, 'ephemeralStorage.size', 512, 10240);
    next.ephemeralStorage = input.EphemeralStorage.Size;
  }
  if (input.Architectures !== undefined) {
    const [arch, ...more] = input.Architectures;
    if (more.length > 0 || (arch !== 'x86_64' && arch !== 'arm64')) {
      throw validationError(`Value '[${input.Architectures.join(', ')}]' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1, Member must satisfy enum value set: [x86_64, arm64]`);
    }
    next.architectures = [arch];
  }
  if (input.Environment !== undefined) {
    const variables = input.Environment.Variables ?? {};
    const reserved = Object.keys(variables).filter((key) => RESERVED_ENV_KEYS.has(key));
    if (reserved.length > 0) {
      throw invalidParameter(
        'Lambda was unable to configure your environment variables because the environment variables you have provided ' +
          `contains reserved keys that are currently not supported for modification. Reserved keys used in this request: ${reserved.join(', ')}`,
      );
    }
    const badKey = Object.keys(variables).find((key) => !/^[a-zA-Z][a-zA-Z0-9_]+$/.test(key));
    if (badKey !== undefined) {
      throw validationError(`Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]`);
    }
    if (Buffer.byteLength(JSON.stringify(variables)) > 4096) {
      throw invalidParameter(
        'Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit.',
      );
    }
    next.environment = { ...variables };
  }
  if (input.Layers !== undefined) {
    if (input.Layers.length > 5) {
      throw invalidParameter('Cannot reference more than 5 layers.');
    }
    for (const arn of input.Layers) layerVersionByArn(ctx, arn);
    next.layers = [...input.Layers];
  }
  if (input.Role !== undefined) {
    assertRoleAssumable(ctx, input.Role);
    next.role = input.Role;
  }
  return next;
}

/** Finds a layer version by its ARN, failing as CreateFunction does for a missing one. */
export function layerVersionByArn(ctx: StandInContext, arn: string) {
  const match = /^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:(\d{12}):layer:([a-zA-Z0-9_-]+):(\d+)$/.exec(arn);
  if (!match) {
    throw validationError(`Value '[${arn}]' at 'layers' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+]`);
  }
  const layer = match[1] === ctx.state.accountId ? ctx.state.layers.get(match[2]!) : undefined;
  const version = layer?.versions.get(Number(match[3]));
  if (!version) throw invalidParameter(`Layer version ${arn} does not exist.`);
  return version;
}

function assertRoleAssumable(ctx: StandInContext, roleArn: string): void {
  const match = /^arn:aws[a-zA-Z-]*:iam::(\d{12}):role\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]+)$/.exec(roleArn);
  if (!match) {
    throw validationError(`Value '${roleArn}' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+`);
  }
  const cannot = invalidParameter('The role defined for the function cannot be assumed by Lambda.');
  const role = match[1] === ctx.state.accountId ? ctx.state.roles.get(match[2]!) : undefined;
  if (!role || role.arn !== roleArn || !trustsLambda(role.assumeRolePolicyDocument)) throw cannot;
  if (role.propagationFailuresLeft > 0) {
    role.propagationFailuresLeft -= 1;
    throw cannot;
  }
}

function trustsLambda(document: string): boolean {
  let policy: { Statement?: unknown };
  try {
    policy = JSON.parse(document) as { Statement?: unknown };
  } catch {
    return false;
  }
  const statements = Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement];
  const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);
  return statements.some((raw) => {
    const statement = raw as { Effect?: string; Action?: unknown; Principal?: { Service?: unknown } };
    return (
      statement?.Effect === 'Allow' &&
      list(statement.Action).some((action) => action === 'sts:AssumeRole' || action === 'sts:*' || action === '*') &&
      list(statement.Principal?.Service).includes('lambda.amazonaws.com')
    );
  });
}

/** Rejects function + layers over Lambda's unzipped limit. */
export function assertUnzippedSize(ctx: StandInContext, codeUnzipped: number, layers: string[]): void {
  if (codeUnzipped > UNZIPPED_LIMIT) {
    throw invalidParameter(`Unzipped size must be smaller than ${UNZIPPED_LIMIT} bytes`);
  }
  // A layer version deleted after a function started using it still counts: Lambda keeps its copy.
  const layerSize = (arn: string) => {
    try {
      return layerVersionByArn(ctx, arn).code.unzippedSize;
    } catch {
      return 0;
    }
  };
  const total = layers.reduce((sum, arn) => sum + layerSize(arn), codeUnzipped);
  if (total > UNZIPPED_LIMIT) {
    throw invalidParameter(
      `Function code combined with layers exceeds the maximum allowed size of ${UNZIPPED_LIMIT} bytes. The actual size is ${total} bytes.`,
    );
  }
}

/** FunctionConfiguration as the API returns it. */
export function configurationJson(
  ctx: StandInContext,
  fn: FunctionRecord,
  record: FunctionVersionRecord,
  arnQualifier?: string,
): Record<string, unknown> {
  const s = record.settings;
  const isLatest = record === fn.latest;
  const latest = fn.latest as LatestRecord;
  const config: Record<string, unknown> = {
    FunctionName: fn.name,
    FunctionArn: functionArn(ctx, fn.name, arnQualifier),
    Runtime: s.runtime,
    Role: s.role,
    Handler: s.handler,
    CodeSize: record.code.size,
    Description: isLatest ? s.description : (record.versionDescription ?? s.description),
    Timeout: s.timeout,
    MemorySize: s.memorySize,
    LastModified: record.lastModified,
    CodeSha256: record.code.sha256,
    Version: record.version,
    Environment: { Variables: s.environment },
    TracingConfig: { Mode: 'PassThrough' },
    RevisionId: record.revisionId,
    Layers: s.layers.map((arn) => ({ Arn: arn, CodeSize: layerCodeSize(ctx, arn) })),
    State: isLatest ? latest.state : 'Active',
    PackageType: 'Zip',
    Architectures: s.architectures,
    EphemeralStorage: { Size: s.ephemeralStorage },
    SnapStart: { ApplyOn: 'None', OptimizationStatus: 'Off' },
    RuntimeVersionConfig: { RuntimeVersionArn: `arn:aws:lambda:${ctx.state.region}::runtime:standin` },
    LoggingConfig: { LogFormat: 'Text', LogGroup: `/aws/lambda/${fn.name}` },
  };
  if (isLatest && latest.state === 'Pending') {
    config['StateReason'] = 'The function is being created.';
    config['StateReasonCode'] = 'Creating';
  }
  const lastUpdate = isLatest ? latest.lastUpdateStatus : 'Successful';
  if (lastUpdate !== undefined) config['LastUpdateStatus'] = lastUpdate;
  if (lastUpdate === 'InProgress') {
    config['LastUpdateStatusReason'] = 'The function is being updated.';
    config['LastUpdateStatusReasonCode'] = 'Updating';
  }
  return config;
}

function layerCodeSize(ctx: StandInContext, arn: string): number {
  try {
    return layerVersionByArn(ctx, arn).code.size;
  } catch {
    // A function keeps working after the layer version it uses is deleted; AWS keeps reporting it.
    return 0;
  }
}
