import { PipeError } from '../../errors.js';
import { describeCause, networkFailure, type NetworkFailure } from './network-errors.js';

/** The AWS error name, whatever shape (SDK exception, plain error) it comes in. */
export const errorName = (error: unknown): string => (error as { name?: string } | null)?.name ?? '';

export const isNotFound = (error: unknown): boolean =>
  ['ResourceNotFoundException', 'NoSuchEntity', 'NoSuchEntityException', 'NoSuchBucket', 'NotFound', 'NoSuchKey'].includes(errorName(error)) ||
  (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 404;

const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AuthorizationError', 'UnauthorizedException']);
const BAD_CREDENTIALS = new Set(['InvalidClientTokenId', 'UnrecognizedClientException', 'SignatureDoesNotMatch', 'InvalidAccessKeyId', 'ExpiredToken', 'ExpiredTokenException']);

export const CREDENTIALS_HINT =
  'Configure AWS credentials: `aws configure` (or `aws sso login --profile NAME` and pass --profile NAME), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones).';

/** One SDK call, as an error about it needs to name it. */
export interface AwsCall {
  /** "lambda:CreateFunction", as an IAM policy names it. */
  action: string;
  /** What the call is about: "function credit-dev". */
  resource?: string;
  /** Where the request went ("https://lambda.us-east-1.amazonaws.com"), once the SDK resolved it. */
  endpoint?: string;
  /** Where an endpoint override came from ("AWS_ENDPOINT_URL"); undefined for AWS's own endpoints. */
  endpointSource?: string;
  region?: string;
}

const SERVICE_NAMES: Record<string, string> = {
  lambda: 'AWS Lambda', iam: 'AWS IAM', sts: 'AWS STS', logs: 'CloudWatch Logs', s3: 'Amazon S3', events: 'Amazon EventBridge',
};

/** "AWS Lambda" for "lambda:GetFunction". */
const serviceName = (action: string): string => {
  const prefix = action.split(':')[0] ?? action;
  return SERVICE_NAMES[prefix] ?? prefix;
};

/** The resource a request is about, read from its input, so an error can name it. */
export function resourceOfInput(input: Record<string, unknown> | undefined): string | undefined {
  if (!input) return undefined;
  const s = (k: string): string | undefined => (typeof input[k] === 'string' ? (input[k] as string) : undefined);
  if (s('FunctionName')) return s('Qualifier') ? `function ${s('FunctionName')}:${s('Qualifier')}` : `function ${s('FunctionName')}`;
  if (s('RoleName')) return `role ${s('RoleName')}`;
  if (s('LayerName')) return `layer ${s('LayerName')}`;
  if (s('Bucket')) return s('Key') ? `s3://${s('Bucket')}/${s('Key')}` : `bucket ${s('Bucket')}`;
  if (s('logGroupName')) return `log group ${s('logGroupName')}`;
  // EventBridge rules: PutRule/DescribeRule/DeleteRule name them `Name`, the target calls `Rule`.
  if (s('Rule') ?? s('Name')) return `rule ${s('Rule') ?? s('Name')}`;
  if (s('ResourceARN')) return s('ResourceARN');
  return undefined;
}

/**
 * Turns the errors a user must act on into PipeErrors that say what to do; everything else passes
 * through unchanged.
 */
export function translateAwsError(error: unknown, call: AwsCall): unknown {
  if (error instanceof PipeError) return error;
  const name = errorName(error);
  const message = (error as Error | null)?.message ?? String(error);
  const on = call.resource ? ` on ${call.resource}` : '';
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return new PipeError('AWS_CREDENTIALS_MISSING', 'No AWS credentials found (environment, shared config/credentials files, SSO, container or instance role)', {
      hint: CREDENTIALS_HINT,
      cause: error,
    });
  }
  if (BAD_CREDENTIALS.has(name)) {
    return new PipeError('AWS_CREDENTIALS_INVALID', `AWS rejected the credentials (${name}): ${message}`, { hint: CREDENTIALS_HINT, cause: error });
  }
  if (ACCESS_DENIED.has(name)) {
    return new PipeError('AWS_ACCESS_DENIED', `Access denied: ${call.action}${on}`, {
      hint: `${allowHint(call)} AWS said: ${message}`,
      cause: error,
    });
  }
  const network = networkFailure(error);
  if (network) return unreachable(error, network, call);
  const status = unreadableAnswerStatus(error);
  if (status !== undefined) return unreadableAnswer(error, status, call);
  return error;
}

const allowHint = (call: AwsCall): string =>
  `Allow ${call.action}${call.resource ? ' on that resource' : ''} in the IAM policy of the identity pipe runs as (see \`aws sts get-caller-identity\`).`;

const OVERRIDES = 'AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_<SERVICE>, or aws.endpoints in pipeline.config.ts)';
const overrideNames = (call: AwsCall): string => call.endpointSource ?? OVERRIDES;

/** What to do about a network failure, by its cause and by whether the endpoint is an override. */
function networkHint(network: NetworkFailure, call: AwsCall): string {
  const endpoint = call.endpoint ?? 'the endpoint';
  const source = call.endpointSource;
  // The SDK's requests from Node do not go through HTTPS_PROXY: saying so saves a long search.
  const proxy = process.env.HTTPS_PROXY || process.env.https_proxy ? " HTTPS_PROXY is set, but pipe's AWS requests do not go through a proxy." : '';
  switch (network.cause) {
    case 'refused':
      return source
        ? `The endpoint comes from ${source}: start the service it points at, correct it, or unset it to reach AWS itself.`
        : `Nothing accepts connections at ${endpoint}: check the network, or a firewall between you and AWS.${proxy}`;
    case 'dns':
      return source
        ? `The endpoint comes from ${source}: correct its host name, or unset it to reach AWS itself.`
        : `${endpoint} does not resolve: check the region ("${call.region ?? '?'}": region in pipeline.config.ts, per stage, or AWS_REGION) ` +
            `and this machine's DNS. Without access to AWS, point ${OVERRIDES} at a reachable endpoint.${proxy}`;
    case 'timeout':
    case 'reset':
    case 'unreachable':
      return `A firewall or proxy may be dropping connections to ${endpoint}, or the network is down${source ? ` (the endpoint comes from ${source})` : ''}.${proxy}`;
    case 'certificate':
      return /WRONG_VERSION_NUMBER/.test(network.code ?? '')
        ? `${endpoint} does not speak TLS: if it is a local endpoint, use http:// in ${overrideNames(call)}.`
        : `Node does not trust the certificate of ${endpoint}. Behind a TLS-inspecting proxy, give Node its CA: NODE_EXTRA_CA_CERTS=/path/to/ca.pem.`;
    default: {
      const never: never = network.cause;
      return never;
    }
  }
}

function unreachable(error: unknown, network: NetworkFailure, call: AwsCall): PipeError {
  const at = call.endpoint ? ` at ${call.endpoint}` : '';
  return new PipeError(
    'AWS_UNREACHABLE',
    `Could not reach ${serviceName(call.action)}${at} (${call.action}): ${describeCause(network)}: ${network.detail}`,
    { hint: networkHint(network, call), cause: error },
  );
}

interface HttpFailure {
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
}

/**
 * The HTTP status of an error answer the SDK could not read as an AWS error (an HTML or XML page from a
 * proxy or an emulator): JSON protocols fail to parse it (SyntaxError), the others call it "Unknown".
 */
function unreadableAnswerStatus(error: unknown): number | undefined {
  const status = (error as HttpFailure | null)?.$metadata?.httpStatusCode;
  if (typeof status !== 'number' || status < 300) return undefined;
  const name = errorName(error);
  return name === 'SyntaxError' || name === 'Unknown' || name === 'UnknownError' ? status : undefined;
}

/** An error answer without an AWS error in it, judged by its HTTP status. */
function unreadableAnswer(error: unknown, status: number, call: AwsCall): PipeError {
  const service = serviceName(call.action);
  const from = `${call.endpoint ?? service} answered HTTP ${status}`;
  const type = (error as HttpFailure).$response?.headers?.['content-type'];
  // A query-protocol client reads any <Message> it finds: worth showing, whoever wrote it.
  const said = (error as Error).message;
  const words = errorName(error) === 'SyntaxError' || /^(Unknown|UnknownError)?$/.test(said ?? '') ? '' : `, saying "${said}"`;
  const body = `with a body that is not ${service}'s error format${type ? ` (${type})` : ''}${words}`;
  const on = call.resource ? ` on ${call.resource}` : '';
  const foreign = `An answer like this comes from a proxy, a firewall or an emulator rather than from ${service}: check ${overrideNames(call)} and any proxy in between.`;
  if (status === 401 || status === 403) {
    return new PipeError('AWS_ACCESS_DENIED', `Access denied: ${call.action}${on} (${from} ${body})`, {
      hint: `${foreign} If it is AWS: ${allowHint(call)}`,
      cause: error,
    });
  }
  if (status === 429) {
    return new PipeError('AWS_THROTTLED', `${call.action}${on} was throttled: ${from} ${body}`, { hint: `Wait a minute and run again. ${foreign}`, cause: error });
  }
  if (status >= 500) {
    return new PipeError('AWS_SERVICE_ERROR', `${call.action}${on} failed: ${from} ${body}`, {
      hint: `The service or something in front of it failed; run again later. ${foreign}`,
      cause: error,
    });
  }
  return new PipeError('AWS_UNEXPECTED_ANSWER', `${call.action}${on} failed: ${from} ${body}`, {
    hint: `${foreign} ${status === 404 ? `Is ${call.endpoint ?? 'the endpoint'} ${service}'s API?` : ''}`.trim(),
    cause: error,
  });
}
