import { AwsError, invalidParameter, validationError } from './errors.js';
import { emptyResponse, jsonResponse, type ApiResponse, type StandInContext } from './context.js';
import { functionArn, requireFunction, type FunctionRef } from './lambda-settings.js';
import type { CorsConfig, FunctionRecord, UrlConfigRecord } from './types.js';

interface UrlConfigInput {
  AuthType?: string;
  Cors?: CorsConfig;
  InvokeMode?: string;
}

/** Function URLs attach to $LATEST or an alias, never to a version number. */
function urlQualifier(fn: FunctionRecord, qualifier: string | undefined): string {
  if (qualifier === undefined || qualifier === '$LATEST') return '$LATEST';
  if (/^\d+$/.test(qualifier)) {
    throw invalidParameter('Function URLs are only supported for $LATEST and aliases, not for function versions.');
  }
  if (!fn.aliases.has(qualifier)) {
    throw new AwsError('ResourceNotFoundException', 'The resource you requested does not exist.', 404);
  }
  return qualifier;
}

function checkAuthType(value: string | undefined): 'NONE' | 'AWS_IAM' | undefined {
  if (value === undefined || value === 'NONE' || value === 'AWS_IAM') return value;
  throw validationError(`Value '${value}' at 'authType' failed to satisfy constraint: Member must satisfy enum value set: [NONE, AWS_IAM]`);
}

function checkInvokeMode(value: string | undefined): 'BUFFERED' | 'RESPONSE_STREAM' | undefined {
  if (value === undefined || value === 'BUFFERED' || value === 'RESPONSE_STREAM') return value;
  throw validationError(`Value '${value}' at 'invokeMode' failed to satisfy constraint: Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]`);
}

function urlConfigJson(ctx: StandInContext, fn: FunctionRecord, config: UrlConfigRecord, withModified: boolean) {
  const body: Record<string, unknown> = {
    FunctionUrl: config.functionUrl,
    FunctionArn: functionArn(ctx, fn.name, config.qualifier === '$LATEST' ? undefined : config.qualifier),
    AuthType: config.authType,
    CreationTime: config.creationTime,
    InvokeMode: config.invokeMode,
  };
  if (config.cors) body['Cors'] = config.cors;
  if (withModified) body['LastModifiedTime'] = config.lastModifiedTime;
  return body;
}

function requireUrlConfig(fn: FunctionRecord, qualifier: string): UrlConfigRecord {
  const config = fn.urlConfigs.get(qualifier);
  if (!config) throw new AwsError('ResourceNotFoundException', 'The resource you requested does not exist.', 404);
  return config;
}

export async function createUrlConfig(ctx: StandInContext, ref: FunctionRef, input: UrlConfigInput): Promise<ApiResponse> {
  const fn = requireFunction(ctx, ref);
  const qualifier = urlQualifier(fn, ref.qualifier);
  const authType = checkAuthType(input.AuthType);
  if (authType === undefined) {
    throw validationError(`Value null at 'authType' failed to satisfy constraint: Member must not be null`);
  }
  const invokeMode = checkInvokeMode(input.InvokeMode) ?? 'BUFFERED';
  if (fn.urlConfigs.has(qualifier)) {
    throw new AwsError(
      'ResourceConflictException',
      `Failed to create function url config for [functionArn = ${functionArn(ctx, fn.name, qualifier === '$LATEST' ? undefined : qualifier)}]. ` +
        'Error message:  FunctionUrlConfig exists for this Lambda function',
      409,
    );
  }
  const now = new Date().toISOString();
  const config: UrlConfigRecord = {
    qualifier,
    authType,
    cors: input.Cors,
    invokeMode,
    functionUrl: '',
    creationTime: now,
    lastModifiedTime: now,
  };
  fn.urlConfigs.set(qualifier, config);
  config.functionUrl = await ctx.urls.open(fn.name, qualifier);
  return jsonResponse(201, urlConfigJson(ctx, fn, config, false));
}

export function getUrlConfig(ctx: StandInContext, ref: FunctionRef): ApiResponse {
  const fn = requireFunction(ctx, ref);
  const config = requireUrlConfig(fn, urlQualifier(fn, ref.qualifier));
  return jsonResponse(200, urlConfigJson(ctx, fn, config, true));
}

export function updateUrlConfig(ctx: StandInContext, ref: FunctionRef, input: UrlConfigInput): ApiResponse {
  const fn = requireFunction(ctx, ref);
  const config = requireUrlConfig(fn, urlQualifier(fn, ref.qualifier));
  const authType = checkAuthType(input.AuthType);
  const invokeMode = checkInvokeMode(input.InvokeMode);
  if (authType !== undefined) config.authType = authType;
  if (invokeMode !== undefined) config.invokeMode = invokeMode;
  if (input.Cors !== undefined) config.cors = input.Cors;
  config.lastModifiedTime = new Date().toISOString();
  return jsonResponse(200, urlConfigJson(ctx, fn, config, true));
}

export async function deleteUrlConfig(ctx: StandInContext, ref: FunctionRef): Promise<ApiResponse> {
  const fn = requireFunction(ctx, ref);
  const qualifier = urlQualifier(fn, ref.qualifier);
  requireUrlConfig(fn, qualifier);
  fn.urlConfigs.delete(qualifier);
  await ctx.urls.close(fn.name, qualifier);
  return emptyResponse(204);
}

export function listUrlConfigs(ctx: StandInContext, ref: FunctionRef): ApiResponse {
  const fn = requireFunction(ctx, ref);
  return jsonResponse(200, {
    FunctionUrlConfigs: [...fn.urlConfigs.values()].map((config) => urlConfigJson(ctx, fn, config, true)),
  });
}
