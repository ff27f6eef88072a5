import { PipeError } from '../errors.js';

/** The AWS error name, whatever shape (SDK exception, plain error) it comes in. */
export const errorName = (error: unknown): string => (error as { name?: string } | null)?.name ?? '';

export const isNotFound = (error: unknown): boolean =>
  ['ResourceNotFoundException', 'NoSuchEntity', 'NoSuchEntityException', 'NoSuchBucket', 'NotFound', 'NoSuchKey'].includes(errorName(error)) ||
  (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 404;

const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AuthorizationError', 'UnauthorizedException']);
const BAD_CREDENTIALS = new Set(['InvalidClientTokenId', 'UnrecognizedClientException', 'SignatureDoesNotMatch', 'InvalidAccessKeyId', 'ExpiredToken', 'ExpiredTokenException']);

export const isAccessDenied = (error: unknown): boolean => ACCESS_DENIED.has(errorName(error));

export const CREDENTIALS_HINT =
  'Configure AWS credentials: `aws configure` (or `aws sso login --profile NAME` and pass --profile NAME), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones).';

/** The resource a request is about, read from its input, so an error can name it. */
export function resourceOfInput(input: Record<string, unknown> | undefined): string | undefined {
  if (!input) return undefined;
  const s = (k: string): string | undefined => (typeof input[k] === 'string' ? (input[k] as string) : undefined);
  if (s('FunctionName')) return s('Qualifier') ? `function ${s('FunctionName')}:${s('Qualifier')}` : `function ${s('FunctionName')}`;
  if (s('RoleName')) return `role ${s('RoleName')}`;
  if (s('LayerName')) return `layer ${s('LayerName')}`;
  if (s('Bucket')) return s('Key') ? `s3://${s('Bucket')}/${s('Key')}` : `bucket ${s('Bucket')}`;
  if (s('logGroupName')) return `log group ${s('logGroupName')}`;
  return undefined;
}

/**
 * Turns the errors a user must act on into PipeErrors that say what to do; everything else passes
 * through unchanged. `action` is "lambda:CreateFunction" style, as an IAM policy names it.
 */
export function translateAwsError(error: unknown, action: string, resource: string | undefined): unknown {
  if (error instanceof PipeError) return error;
  const name = errorName(error);
  const message = (error as Error | null)?.message ?? String(error);
  const on = resource ? ` on ${resource}` : '';
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
    return new PipeError('AWS_ACCESS_DENIED', `Access denied: ${action}${on}`, {
      hint: `Allow ${action}${resource ? ` on that resource` : ''} in the IAM policy of the identity pipe runs as (see \`aws sts get-caller-identity\`). AWS said: ${message}`,
      cause: error,
    });
  }
  return error;
}
