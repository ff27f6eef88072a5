import type { StandInState } from './state.js';
import type { AwsServiceName, InvokeUrlHook } from './types.js';

/** A parsed request handed to a service's handlers. */
export interface ApiRequest {
  method: string;
  /** Path without the query string, still percent-encoded. */
  path: string;
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface ApiResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** A request matched to an API action, ready to run once faults and auth were checked. */
export interface RoutedCall {
  service: AwsServiceName;
  action: string;
  /** The ARN an AccessDenied message names. */
  resource(): string;
  run(): Promise<ApiResponse>;
}

/** Starts and stops the per-URL HTTP listeners that stand in for Function URLs. */
export interface UrlListeners {
  open(functionName: string, qualifier: string): Promise<string>;
  close(functionName: string, qualifier: string): Promise<void>;
  closeAll(): Promise<void>;
}

export interface StandInContext {
  state: StandInState;
  endpoint: string;
  /** The identity the credentials belong to (GetCallerIdentity, AccessDenied messages). */
  callerArn: string;
  pollsUntilActive: number;
  rolePropagationFailures: number;
  s3Endpoint?: string;
  invokeUrl?: InvokeUrlHook;
  urls: UrlListeners;
  /** Actions answered as an emulator lacking them does (AwsStandInOptions.withoutActions). */
  withoutActions: ReadonlySet<string>;
  /** Uniform in [0, 1), seeded: how a weighted alias splits its requests, the same in every run. */
  random(): number;
}

export function jsonResponse(status: number, value: unknown, contentType = 'application/json'): ApiResponse {
  return { status, headers: { 'content-type': contentType }, body: JSON.stringify(value) };
}

export function emptyResponse(status = 204): ApiResponse {
  return { status };
}

/** Lambda's timestamp format: 2024-01-02T03:04:05.678+0000. */
export function lambdaTimestamp(when = new Date()): string {
  return when.toISOString().replace('Z', '+0000');
}
