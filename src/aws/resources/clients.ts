import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { STSClient } from '@aws-sdk/client-sts';
import type { ResolvedConfig } from '../../config/resolved.js';
import { resourceOfInput, translateAwsError } from '../rules/aws-errors.js';
import { CallMeter } from './call-meter.js';

/** The SDK clients one run shares, and the meter counting their calls. */
export interface AwsClients {
  region: string;
  s3: S3Client;
  lambda: LambdaClient;
  iam: IAMClient;
  logs: CloudWatchLogsClient;
  sts: STSClient;
  /** EventBridge: the keep-warm schedule. */
  events: EventBridgeClient;
  /** CloudWatch: the metrics and alarms a gradual rollout watches. */
  cloudwatch: CloudWatchClient;
  meter: CallMeter;
  /** Delays of the state polling loops (seconds); short in tests. */
  poll: { minDelay: number; maxDelay: number; maxWait: number };
  destroy(): void;
}

/**
 * How long a connection may take to open, and how long a request's socket may stay silent (boto3's read
 * timeout). Without them Node waits minutes per attempt for a dropped connection and forever for a silent
 * server; with them a call gives up after its attempts, as a network timeout said in words.
 */
export const AWS_TIMEOUTS = { connectMs: 10_000, idleMs: 60_000 };
export const AWS_MAX_ATTEMPTS = 8;

export interface AwsClientOptions {
  region: string;
  /** --profile, else config.aws.profile; unset: the SDK's default chain (AWS_PROFILE, env, SSO, roles). */
  profile?: string;
  endpoints?: ResolvedConfig['aws']['endpoints'];
  env?: NodeJS.ProcessEnv;
  /** AWS_TIMEOUTS and AWS_MAX_ATTEMPTS unless given (tests give shorter ones). */
  timeouts?: typeof AWS_TIMEOUTS;
  maxAttempts?: number;
}

type Service = 's3' | 'lambda' | 'iam' | 'logs' | 'sts' | 'events' | 'cloudwatch';

/** The SDK reads AWS_ENDPOINT_URL_<SERVICE> itself; pipe only needs to know whether S3 is redirected. */
const ENV_KEY: Record<Service, string> = { s3: 'S3', lambda: 'LAMBDA', iam: 'IAM', logs: 'CLOUDWATCH_LOGS', sts: 'STS', events: 'EVENTBRIDGE', cloudwatch: 'CLOUDWATCH' };

export function endpointOverride(service: Service, endpoints: AwsClientOptions['endpoints'], env: NodeJS.ProcessEnv): string | undefined {
  return endpoints?.[service] ?? env[`AWS_ENDPOINT_URL_${ENV_KEY[service]}`] ?? env.AWS_ENDPOINT_URL;
}

/** Where the override of `service`'s endpoint comes from, for messages; undefined when there is none. */
export function endpointSource(service: Service, endpoints: AwsClientOptions['endpoints'], env: NodeJS.ProcessEnv): string | undefined {
  if (endpoints?.[service]) return `aws.endpoints.${service} in pipeline.config.ts`;
  if (env[`AWS_ENDPOINT_URL_${ENV_KEY[service]}`]) return `AWS_ENDPOINT_URL_${ENV_KEY[service]}`;
  return env.AWS_ENDPOINT_URL ? 'AWS_ENDPOINT_URL' : undefined;
}

export function clientOptionsOf(config: ResolvedConfig, options: Readonly<Record<string, unknown>>): AwsClientOptions {
  const profile = typeof options.profile === 'string' && options.profile !== '' ? options.profile : config.aws.profile;
  return { region: config.region, profile, endpoints: config.aws.endpoints };
}

export function createAwsClients(options: AwsClientOptions): AwsClients {
  const env = options.env ?? process.env;
  const meter = new CallMeter();
  // Adaptive retries: throttling (429) slows the client down instead of failing the deploy.
  const timeouts = options.timeouts ?? AWS_TIMEOUTS;
  const common = {
    region: options.region,
    retryMode: 'adaptive',
    maxAttempts: options.maxAttempts ?? AWS_MAX_ATTEMPTS,
    requestHandler: { connectionTimeout: timeouts.connectMs, socketTimeout: timeouts.idleMs },
    ...(options.profile ? { profile: options.profile } : {}),
  } as const;
  const endpoint = (service: Service) => (options.endpoints?.[service] ? { endpoint: options.endpoints[service] } : {});
  const s3Override = endpointOverride('s3', options.endpoints, env) !== undefined;
  const s3 = new S3Client({
    ...common,
    ...endpoint('s3'),
    // S3-compatible endpoints (s3rver, MinIO, LocalStack) want path-style URLs and plain bodies:
    // aws-chunked streaming checksums get stored verbatim by some of them.
    ...(s3Override
      ? { forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } as const
      : {}),
  });
  const clients = {
    s3,
    lambda: new LambdaClient({ ...common, ...endpoint('lambda') }),
    iam: new IAMClient({ ...common, ...endpoint('iam') }),
    logs: new CloudWatchLogsClient({ ...common, ...endpoint('logs') }),
    sts: new STSClient({ ...common, ...endpoint('sts') }),
    events: new EventBridgeClient({ ...common, ...endpoint('events') }),
    cloudwatch: new CloudWatchClient({ ...common, ...endpoint('cloudwatch') }),
  };
  for (const [service, client] of Object.entries(clients)) {
    instrument(client, meter, { service: service as Service, region: options.region, endpointSource: endpointSource(service as Service, options.endpoints, env) });
  }
  const pollEnv = Number(env.PIPE_AWS_POLL_SECONDS);
  const minDelay = Number.isFinite(pollEnv) && pollEnv > 0 ? pollEnv : 1;
  return {
    region: options.region,
    ...clients,
    meter,
    poll: { minDelay, maxDelay: Math.max(minDelay, 5 * minDelay), maxWait: 600 },
    destroy() {
      for (const client of Object.values(clients)) client.destroy();
    },
  };
}

interface Instrumentable {
  middlewareStack: { add(mw: unknown, options: { step: 'initialize' | 'build'; name: string }): void };
}

interface CallContext {
  commandName?: string;
  /** Set by the build step: where the request goes, for errors about it. */
  pipeEndpoint?: string;
}

interface BuiltRequest {
  protocol?: string;
  hostname?: string;
  port?: number;
}

/**
 * Records each call on the meter and translates the errors a user must act on (credentials, permissions,
 * network, answers that are not AWS errors) into PipeErrors, once, for every client.
 */
function instrument(client: unknown, meter: CallMeter, where: { service: Service; region: string; endpointSource?: string }): void {
  const stack = (client as Instrumentable).middlewareStack;
  stack.add(
    (next: (args: { input: Record<string, unknown> }) => Promise<unknown>, context: CallContext) =>
      async (args: { input: Record<string, unknown> }) => {
        const action = (context.commandName ?? 'Unknown').replace(/Command$/, '');
        meter.record(where.service, action);
        try {
          return await next(args);
        } catch (error) {
          throw translateAwsError(error, {
            action: `${where.service}:${action}`,
            resource: resourceOfInput(args.input),
            endpoint: context.pipeEndpoint,
            endpointSource: where.endpointSource,
            region: where.region,
          });
        }
      },
    { step: 'initialize', name: 'pipeMeter' },
  );
  // The endpoint is resolved after initialize: the serialized request knows it.
  stack.add(
    (next: (args: { request: unknown }) => Promise<unknown>, context: CallContext) =>
      (args: { request: unknown }) => {
        const request = args.request as BuiltRequest | undefined;
        if (request?.hostname) context.pipeEndpoint = `${request.protocol ?? 'https:'}//${request.hostname}${request.port ? `:${request.port}` : ''}`;
        return next(args);
      },
    { step: 'build', name: 'pipeEndpoint' },
  );
}
