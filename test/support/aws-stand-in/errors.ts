import { randomUUID } from 'node:crypto';
import type { AwsServiceName } from './types.js';

/**
 * An error the way an AWS control plane reports it: HTTP status, error code (what the SDK turns into
 * the exception class name) and message. Rendered per protocol by `renderError`.
 */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly fault: 'Sender' | 'Receiver' = status >= 500 ? 'Receiver' : 'Sender',
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = code;
  }
}

/** An HTTP answer written as is, bypassing the protocol's error rendering. */
export interface RawAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** Thrown by an injected `foreignAnswer` fault: the answer of something that is not the AWS service. */
export class ForeignAnswer extends Error {
  constructor(readonly answer: RawAnswer) {
    super(`foreign answer ${answer.status}`);
  }
}

/** Lambda's error shapes spell the message member differently per exception (as in its API model). */
const LAMBDA_CAPITAL_MESSAGE = new Set([
  'ResourceNotFoundException',
  'ServiceException',
  'AccessDeniedException',
  'UnrecognizedClientException',
]);

export interface RenderedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** CloudWatch's query-compatible codes of its modeled errors (the JSON __type is the shape's name). */
const QUERY_CODES: Record<string, string> = {
  InvalidParameterValueException: 'InvalidParameterValue',
  MissingRequiredParameterException: 'MissingParameter',
};

/** Serialises an error as the named service's protocol does. */
export function renderError(service: AwsServiceName, error: AwsError): RenderedResponse {
  const requestId = randomUUID();
  switch (service) {
    case 'lambda': {
      const messageKey = LAMBDA_CAPITAL_MESSAGE.has(error.code) ? 'Message' : 'message';
      const body: Record<string, unknown> = {
        Type: error.fault === 'Sender' ? 'User' : 'Service',
        [messageKey]: error.message,
      };
      if (error.code === 'TooManyRequestsException') body['Reason'] = 'CallerRateLimitExceeded';
      return {
        status: error.status,
        headers: {
          'content-type': 'application/json',
          'x-amzn-errortype': error.code,
          'x-amzn-requestid': requestId,
          ...error.headers,
        },
        body: JSON.stringify(body),
      };
    }
    case 'monitoring':
      // JSON 1.0, query-compatible: the header carries the code the SDK names the exception after.
      return {
        status: error.status,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amzn-requestid': requestId,
          'x-amzn-query-error': `${QUERY_CODES[error.code] ?? error.code};${error.fault}`,
          ...error.headers,
        },
        body: JSON.stringify({ __type: error.code, message: error.message }),
      };
    case 'logs':
    case 'events':
      return {
        status: error.status,
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId, ...error.headers },
        body: JSON.stringify({ __type: error.code, message: error.message }),
      };
    case 'iam':
    case 'sts':
      return {
        status: error.status,
        headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId, ...error.headers },
        body:
          `<ErrorResponse xmlns="${service === 'iam' ? IAM_NS : STS_NS}"><Error><Type>${error.fault}</Type>` +
          `<Code>${xmlEscape(error.code)}</Code><Message>${xmlEscape(error.message)}</Message></Error>` +
          `<RequestId>${requestId}</RequestId></ErrorResponse>`,
      };
    default: {
      const never: never = service;
      throw new Error(`unknown service ${String(never)}`);
    }
  }
}

export const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/';
export const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

export function xmlEscape(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Lambda's 400 for a bad parameter value. */
export function invalidParameter(message: string): AwsError {
  return new AwsError('InvalidParameterValueException', message, 400);
}

/** The constraint-violation error AWS's request validation produces. */
export function validationError(message: string): AwsError {
  return new AwsError('ValidationException', `1 validation error detected: ${message}`, 400);
}

/**
 * The input of an AWS JSON 1.1 request (CloudWatch Logs, EventBridge): `{}` for an empty body, or the
 * SerializationException AWS answers for one that is not JSON (thrown when the call runs, after routing).
 */
export function json11Input(body: Buffer): { input: Record<string, unknown>; parseError?: AwsError } {
  try {
    return { input: body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as Record<string, unknown>) };
  } catch {
    return { input: {}, parseError: new AwsError('SerializationException', 'Failed to parse request body.', 400) };
  }
}
