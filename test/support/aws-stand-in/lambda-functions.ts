import { randomUUID } from 'node:crypto';
import { AwsError, invalidParameter, validationError } from './errors.js';
import { codeRecord, DIRECT_ZIP_LIMIT, fetchS3Code } from './code.js';
import { emptyResponse, jsonResponse, lambdaTimestamp, type ApiResponse, type StandInContext } from './context.js';
import {
  applySettings,
  assertNotTransitioning,
  assertRevision,
  assertUnzippedSize,
  configurationJson,
  functionArn,
  requireFunction,
  resolveVersion,
  type FunctionRef,
  type SettingsInput,
} from './lambda-settings.js';
import { publishSnapshot } from './lambda-versions.js';
import type { CodeRecord, FunctionRecord, FunctionSettings, LatestRecord } from './types.js';

interface CodeInput {
  ZipFile?: string;
  S3Bucket?: string;
  S3Key?: string;
  S3ObjectVersion?: string;
  ImageUri?: string;
}

/** Reads code from the request (base64 zip, or an S3 object) with Lambda's size checks. */
export async function readCode(ctx: StandInContext, input: CodeInput | undefined, operation: string): Promise<CodeRecord> {
  if (input?.ZipFile !== undefined) {
    const zip = Buffer.from(input.ZipFile, 'base64');
    if (zip.length > DIRECT_ZIP_LIMIT) {
      throw new AwsError(
        'RequestEntityTooLargeException',
        `Request must be smaller than 70167211 bytes for the ${operation} operation`,
        413,
      );
    }
    return codeRecord(zip);
  }
  if (input?.S3Bucket !== undefined && input.S3Key !== undefined) {
    return codeRecord(await fetchS3Code(ctx.s3Endpoint, input.S3Bucket, input.S3Key, input.S3ObjectVersion));
  }
  if (input?.ImageUri !== undefined) throw invalidParameter('Container images are not supported by this endpoint.');
  throw invalidParameter('Please provide a source for function code.');
}

function newLatest(ctx: StandInContext, code: CodeRecord, settings: FunctionSettings): LatestRecord {
  return {
    version: '$LATEST',
    code,
    settings,
    revisionId: randomUUID(),
    lastModified: lambdaTimestamp(),
    state: 'Pending',
    pollsLeft: ctx.pollsUntilActive,
  };
}

interface CreateInput extends SettingsInput {
  FunctionName?: string;
  Code?: CodeInput;
  PackageType?: string;
  Publish?: boolean;
  Tags?: Record<string, string>;
}

export async function createFunction(ctx: StandInContext, input: CreateInput): Promise<ApiResponse> {
  const name = input.FunctionName ?? '';
  if (!/^[a-zA-Z0-9_-]{1,64}$/.test(name)) {
    throw validationError(`Value '${name}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+`);
  }
  if (input.PackageType !== undefined && input.PackageType !== 'Zip') {
    throw invalidParameter('Container images are not supported by this endpoint.');
  }
  if (input.Runtime === undefined) throw invalidParameter('Runtime must be specified for Zip package type.');
  if (input.Handler === undefined) throw invalidParameter('Handler must be specified for Zip package type.');
  if (input.Role === undefined) throw validationError(`Value null at 'role' failed to satisfy constraint: Member must not be null`);
  if (ctx.state.functions.has(name)) {
    throw new AwsError('ResourceConflictException', `Function already exist: ${name}`, 409);
  }
  const settings = applySettings(
    ctx,
    {
      runtime: '', handler: '', role: '', description: '', timeout: 3, memorySize: 128,
      environment: {}, layers: [], architectures: ['x86_64'], ephemeralStorage: 512,
    },
    input,
  );
  const code = await readCode(ctx, input.Code, 'CreateFunction');
  assertUnzippedSize(ctx, code.unzippedSize, settings.layers);
  // A concurrent create could have landed while the code was being read.
  if (ctx.state.functions.has(name)) {
    throw new AwsError('ResourceConflictException', `Function already exist: ${name}`, 409);
  }
  const fn: FunctionRecord = {
    name,
    arn: functionArn(ctx, name),
    latest: newLatest(ctx, code, settings),
    versions: new Map(),
    lastVersionNumber: 0,
    aliases: new Map(),
    urlConfigs: new Map(),
    policies: new Map(),
    policyRevisions: new Map(),
    tags: { ...(input.Tags ?? {}) },
    provisioned: new Map(),
  };
  ctx.state.functions.set(name, fn);
  if (input.Publish) {
    const version = publishSnapshot(fn, undefined);
    return jsonResponse(201, configurationJson(ctx, fn, version, version.version));
  }
  return jsonResponse(201, configurationJson(ctx, fn, fn.latest));
}

/** A GetFunction/GetFunctionConfiguration poll: advances $LATEST's state machine. */
function poll(fn: FunctionRecord): void {
  const latest = fn.latest;
  const transitioning = latest.state === 'Pending' || latest.lastUpdateStatus === 'InProgress';
  if (!transitioning) return;
  if (latest.pollsLeft > 0) {
    latest.pollsLeft -= 1;
    return;
  }
  latest.state = 'Active';
  latest.lastUpdateStatus = 'Successful';
}

export function getFunctionConfiguration(ctx: StandInContext, ref: FunctionRef): ApiResponse {
  const fn = requireFunction(ctx, ref);
  const record = resolveVersion(ctx, fn, ref.qualifier);
  if (record === fn.latest) poll(fn);
  return jsonResponse(200, configurationJson(ctx, fn, record, qualifierForArn(ref.qualifier)));
}

export function getFunction(ctx: StandInContext, ref: FunctionRef): ApiResponse {
  const fn = requireFunction(ctx, ref);
  const record = resolveVersion(ctx, fn, ref.qualifier);
  if (record === fn.latest) poll(fn);
  const body: Record<string, unknown> = {
    Configuration: configurationJson(ctx, fn, record, qualifierForArn(ref.qualifier)),
    Code: {
      RepositoryType: 'S3',
      Location: `${ctx.endpoint}/__code/${encodeURIComponent(fn.name)}/${encodeURIComponent(record.version)}?sha=${encodeURIComponent(record.code.sha256)}`,
    },
  };
  if (Object.keys(fn.tags).length > 0) body['Tags'] = fn.tags;
  if (fn.reservedConcurrency !== undefined) body['Concurrency'] = { ReservedConcurrentExecutions: fn.reservedConcurrency };
  return jsonResponse(200, body);
}

function qualifierForArn(qualifier: string | undefined): string | undefined {
  return qualifier === '$LATEST' ? undefined : qualifier;
}

function startUpdate(ctx: StandInContext, fn: FunctionRecord): void {
  fn.latest.lastUpdateStatus = 'InProgress';
  fn.latest.pollsLeft = ctx.pollsUntilActive;
  fn.latest.revisionId = randomUUID();
  fn.latest.lastModified = lambdaTimestamp();
}

interface UpdateCodeInput extends CodeInput {
  Publish?: boolean;
  DryRun?: boolean;
  RevisionId?: string;
  Architectures?: string[];
}

export async function updateFunctionCode(ctx: StandInContext, ref: FunctionRef, input: UpdateCodeInput): Promise<ApiResponse> {
  const fn = requireFunction(ctx, ref);
  if (ref.qualifier !== undefined && ref.qualifier !== '$LATEST') {
    throw invalidParameter('Unsupported qualifier for this operation: only $LATEST code can be updated.');
  }
  assertNotTransitioning(ctx, fn);
  assertRevision(fn.latest.revisionId, input.RevisionId);
  const settings = applySettings(ctx, fn.latest.settings, { Architectures: input.Architectures });
  const code = await readCode(ctx, input, 'UpdateFunctionCode');
  assertUnzippedSize(ctx, code.unzippedSize, settings.layers);
  if (input.DryRun) return jsonResponse(200, configurationJson(ctx, fn, fn.latest));
  // Re-check: another update may have started while the code was being read.
  assertNotTransitioning(ctx, fn);
  fn.latest.code = code;
  fn.latest.settings = settings;
  startUpdate(ctx, fn);
  if (input.Publish) {
    const version = publishSnapshot(fn, undefined);
    return jsonResponse(200, configurationJson(ctx, fn, version, version.version));
  }
  return jsonResponse(200, configurationJson(ctx, fn, fn.latest));
}

export function updateFunctionConfiguration(
  ctx: StandInContext,
  ref: FunctionRef,
  input: SettingsInput & { RevisionId?: string },
): ApiResponse {
  const fn = requireFunction(ctx, ref);
  if (ref.qualifier !== undefined && ref.qualifier !== '$LATEST') {
    throw invalidParameter('Unsupported qualifier for this operation: only $LATEST can be configured.');
  }
  assertNotTransitioning(ctx, fn);
  assertRevision(fn.latest.revisionId, input.RevisionId);
  const settings = applySettings(ctx, fn.latest.settings, input);
  assertUnzippedSize(ctx, fn.latest.code.unzippedSize, settings.layers);
  fn.latest.settings = settings;
  startUpdate(ctx, fn);
  return jsonResponse(200, configurationJson(ctx, fn, fn.latest));
}

export async function deleteFunction(ctx: StandInContext, ref: FunctionRef): Promise<ApiResponse> {
  const fn = requireFunction(ctx, ref);
  const qualifier = ref.qualifier;
  if (qualifier === '$LATEST') {
    throw invalidParameter('$LATEST version cannot be deleted without deleting the function.');
  }
  if (qualifier === undefined) {
    ctx.state.functions.delete(fn.name);
    for (const urlQualifier of fn.urlConfigs.keys()) await ctx.urls.close(fn.name, urlQualifier);
    return emptyResponse(204);
  }
  if (fn.aliases.has(qualifier)) {
    throw invalidParameter('Deletion of aliases is not supported by DeleteFunction; use DeleteAlias.');
  }
  if (!fn.versions.has(qualifier)) throw new AwsError('ResourceNotFoundException', `Function not found: ${functionArn(ctx, fn.name, qualifier)}`, 404);
  const referencing = [...fn.aliases.values()].filter(
    (alias) => alias.functionVersion === qualifier || alias.routingConfig?.AdditionalVersionWeights?.[qualifier] !== undefined,
  );
  if (referencing.length > 0) {
    throw new AwsError(
      'ResourceConflictException',
      `Unable to delete version because the following aliases reference it: [${referencing.map((a) => a.name).join(', ')}]`,
      409,
    );
  }
  fn.versions.delete(qualifier);
  fn.policies.delete(qualifier);
  return emptyResponse(204);
}

export function listFunctions(ctx: StandInContext, marker: string | null, maxItems: string | null): ApiResponse {
  const all = [...ctx.state.functions.values()].sort((a, b) => a.name.localeCompare(b.name));
  const { page, next } = paginate(all, marker, maxItems);
  const body: Record<string, unknown> = { Functions: page.map((fn) => configurationJson(ctx, fn, fn.latest)) };
  if (next !== undefined) body['NextMarker'] = next;
  return jsonResponse(200, body);
}

/** Lambda's Marker/MaxItems paging: the marker is an opaque offset. */
export function paginate<T>(items: T[], marker: string | null, maxItems: string | null): { page: T[]; next?: string } {
  const start = marker ? Number(Buffer.from(marker, 'base64').toString('utf8')) : 0;
  if (!Number.isInteger(start) || start < 0) throw invalidParameter('Invalid marker.');
  const size = maxItems ? Number(maxItems) : 50;
  if (!Number.isInteger(size) || size < 1 || size > 10000) {
    throw validationError(`Value '${maxItems}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000`);
  }
  const page = items.slice(start, start + size);
  const next = start + size < items.length ? Buffer.from(String(start + size)).toString('base64') : undefined;
  return { page, next };
}
