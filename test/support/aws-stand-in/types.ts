/**
 * Records held by the AWS stand-in. They are plain data so tests can inspect (and, where a test
 * needs a precondition, edit) what the control planes would hold on AWS.
 */

/** A deployment package as Lambda stores it. */
export interface CodeRecord {
  zip: Buffer;
  /** base64(sha256(zip)), as Lambda reports CodeSha256. */
  sha256: string;
  size: number;
  /** Sum of the uncompressed sizes of the zip's entries. */
  unzippedSize: number;
}

/** The configuration members of a function version that PublishVersion compares. */
export interface FunctionSettings {
  runtime: string;
  handler: string;
  role: string;
  description: string;
  timeout: number;
  memorySize: number;
  environment: Record<string, string>;
  /** Layer version ARNs, in order. */
  layers: string[];
  architectures: string[];
  ephemeralStorage: number;
}

/** $LATEST or a published version of a function. */
export interface FunctionVersionRecord {
  version: string;
  code: CodeRecord;
  settings: FunctionSettings;
  revisionId: string;
  lastModified: string;
  /** Description given to PublishVersion (versions only). */
  versionDescription?: string;
}

export type FunctionState = 'Pending' | 'Active' | 'Inactive' | 'Failed';
export type LastUpdateStatus = 'InProgress' | 'Successful' | 'Failed';

/** $LATEST carries the state machine. */
export interface LatestRecord extends FunctionVersionRecord {
  state: FunctionState;
  lastUpdateStatus?: LastUpdateStatus;
  /** GetFunction/GetFunctionConfiguration calls left before the current transition completes. */
  pollsLeft: number;
}

export interface AliasRecord {
  name: string;
  functionVersion: string;
  description: string;
  revisionId: string;
  routingConfig?: { AdditionalVersionWeights?: Record<string, number> };
}

export interface CorsConfig {
  AllowCredentials?: boolean;
  AllowHeaders?: string[];
  AllowMethods?: string[];
  AllowOrigins?: string[];
  ExposeHeaders?: string[];
  MaxAge?: number;
}

export interface UrlConfigRecord {
  /** Alias name, or '$LATEST' for an unqualified URL. */
  qualifier: string;
  authType: 'NONE' | 'AWS_IAM';
  cors?: CorsConfig;
  invokeMode: 'BUFFERED' | 'RESPONSE_STREAM';
  functionUrl: string;
  creationTime: string;
  lastModifiedTime: string;
}

/** One statement of a function's resource-based policy, in AWS's JSON form. */
export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Principal: string | { Service: string } | { AWS: string };
  Action: string;
  Resource: string;
  Condition?: Record<string, Record<string, string>>;
}

export interface FunctionRecord {
  name: string;
  /** Unqualified ARN. */
  arn: string;
  latest: LatestRecord;
  versions: Map<string, FunctionVersionRecord>;
  /** Version numbers are never reused, even after a version is deleted. */
  lastVersionNumber: number;
  aliases: Map<string, AliasRecord>;
  /** Keyed by qualifier ('$LATEST' when unqualified). */
  urlConfigs: Map<string, UrlConfigRecord>;
  /** Keyed by qualifier ('' for the unqualified function); one policy per qualifier as on AWS. */
  policies: Map<string, PolicyStatement[]>;
  policyRevisions: Map<string, string>;
  tags: Record<string, string>;
  /** PutFunctionConcurrency's value; undefined: the function uses the unreserved pool. */
  reservedConcurrency?: number;
  /** Provisioned concurrency configs by qualifier (alias name or version). */
  provisioned: Map<string, ProvisionedConcurrencyRecord>;
}

export interface ProvisionedConcurrencyRecord {
  requested: number;
  /** IN_PROGRESS until the next GetProvisionedConcurrencyConfig, then READY. */
  status: 'IN_PROGRESS' | 'READY';
  lastModified: string;
}

/** An EventBridge rule on the default event bus, with its targets. */
export interface EventRuleRecord {
  name: string;
  arn: string;
  scheduleExpression?: string;
  eventPattern?: string;
  state: 'ENABLED' | 'DISABLED';
  description?: string;
  roleArn?: string;
  tags: Array<{ Key: string; Value: string }>;
  /** By target Id, in the order they were put. */
  targets: Map<string, EventTargetRecord>;
}

export interface EventTargetRecord {
  Id: string;
  Arn: string;
  Input?: string;
  InputPath?: string;
  RoleArn?: string;
}

export interface LayerVersionRecord {
  layerName: string;
  version: number;
  layerArn: string;
  layerVersionArn: string;
  code: CodeRecord;
  description: string;
  compatibleRuntimes?: string[];
  compatibleArchitectures?: string[];
  licenseInfo?: string;
  createdDate: string;
}

export interface LayerRecord {
  name: string;
  versions: Map<number, LayerVersionRecord>;
  lastVersion: number;
}

export interface RoleRecord {
  name: string;
  path: string;
  arn: string;
  roleId: string;
  createDate: string;
  /** The trust policy exactly as sent (AWS returns it URL-encoded). */
  assumeRolePolicyDocument: string;
  description?: string;
  maxSessionDuration: number;
  tags: Array<{ Key: string; Value: string }>;
  /** Inline policies: name -> document as sent. */
  inlinePolicies: Map<string, string>;
  /** Managed policy ARNs. */
  attachedPolicies: Set<string>;
  /** CreateFunction attempts left that fail as if the new role had not propagated yet. */
  propagationFailuresLeft: number;
}

export interface LogEventRecord {
  timestamp: number;
  message: string;
  ingestionTime: number;
  eventId: string;
}

export interface LogGroupRecord {
  name: string;
  creationTime: number;
  retentionInDays?: number;
  tags: Record<string, string>;
  streams: Map<string, LogEventRecord[]>;
}

/** One HTTP request the stand-in answered (including throttled and failed ones). */
export interface CallRecord {
  service: AwsServiceName;
  action: string;
  /** False for Get*, List*, Describe*, Filter* calls: what the "no-change deploy writes nothing" goal counts. */
  write: boolean;
  /** Request body size: what a deploy uploaded to the control plane. */
  requestBytes: number;
  status: number;
  /** Error code when the call failed. */
  error?: string;
}

/** `monitoring` is CloudWatch (metrics and alarms): the name its requests are signed for. */
export type AwsServiceName = 'lambda' | 'iam' | 'logs' | 'sts' | 'events' | 'monitoring';

/** One CloudWatch data point. */
export interface MetricPoint {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
  /** Epoch milliseconds. */
  time: number;
  value: number;
}

/** A CloudWatch metric alarm: only what its state needs. */
export interface AlarmRecord {
  name: string;
  metricName?: string;
  namespace?: string;
  state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA' | string;
  reason: string;
  /** Epoch milliseconds of the last state change. */
  updated: number;
}

/** The HTTP request a Function URL received, as passed to the invokeUrl hook. */
export interface FunctionUrlRequest {
  method: string;
  /** Path without the query string. */
  rawPath: string;
  rawQueryString: string;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  body: Buffer;
  /** The same request as a Lambda payload format 2.0 event (what the handler receives on AWS). */
  event: Record<string, unknown>;
}

/** What the invokeUrl hook answers with. */
export interface FunctionUrlResponse {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Lines the handler logged; written to the function's log group between START and END. */
  logs?: string[];
  /** The handler raised (or the runtime failed): Lambda counts the invocation in its Errors metric. */
  functionError?: boolean;
}

/** The function code and settings a Function URL runs, resolved at the alias's version. */
export interface InvokedFunction {
  functionName: string;
  version: string;
  zip: Buffer;
  /** Layer zips, in the function's layer order. */
  layers: Buffer[];
  handler: string;
  runtime: string;
  env: Record<string, string>;
  timeout: number;
  memory: number;
  architectures: string[];
  ephemeralStorage: number;
}

export type InvokeUrlHook = (fn: InvokedFunction, request: FunctionUrlRequest) => Promise<FunctionUrlResponse>;

/** Options of startAwsStandIn. */
export interface AwsStandInOptions {
  /** Default 123456789012. */
  accountId?: string;
  /** Default us-east-1. */
  region?: string;
  /** Access key the stand-in accepts; others get UnrecognizedClientException. Default AKIASTANDIN000000000. */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** GetFunction/GetFunctionConfiguration calls a new function stays Pending and an update stays InProgress. Default 2. */
  pollsUntilActive?: number;
  /** CreateFunction attempts with a just-created role that fail as if IAM had not propagated it yet. Default 0. */
  rolePropagationFailures?: number;
  /** s3rver endpoint for code given as S3Bucket/S3Key. */
  s3Endpoint?: string;
  /** Runs a Function URL request; without it, URL requests that pass authorization get 502. */
  invokeUrl?: InvokeUrlHook;
  /** The account's concurrent executions limit (GetAccountSettings). Default 1000; new accounts often have 10. */
  accountConcurrency?: number;
  /**
   * Actions answered as an AWS-compatible emulator without them answers: 404 with a body that is not an
   * AWS error (e.g. GetProvisionedConcurrencyConfig, GetAccountSettings). The call is still recorded.
   */
  withoutActions?: readonly string[];
  /** Seeds how weighted aliases split requests between their versions. Default 1. */
  seed?: number;
}
