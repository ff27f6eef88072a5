import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { translateAwsError } from '../../src/aws/rules/aws-errors.js';
import { causeMessages, networkFailure } from '../../src/aws/rules/network-errors.js';
import { PipeError } from '../../src/errors.js';

/** An error shaped as Node's net/tls/dns modules make them: a message and a code. */
const sysError = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('network failures', () => {
  it('recognises refused, DNS, timeout, reset, unreachable and certificate failures by their codes', () => {
    const cases: [Error, string][] = [
      [sysError('connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED'), 'refused'],
      [sysError('getaddrinfo ENOTFOUND lambda.nowhere.invalid', 'ENOTFOUND'), 'dns'],
      [sysError('getaddrinfo EAI_AGAIN lambda.us-east-1.amazonaws.com', 'EAI_AGAIN'), 'dns'],
      [sysError('connect ETIMEDOUT 10.0.0.1:443', 'ETIMEDOUT'), 'timeout'],
      [Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' }), 'timeout'],
      [sysError('read ECONNRESET', 'ECONNRESET'), 'reset'],
      [sysError('connect ENETUNREACH 10.0.0.1:443', 'ENETUNREACH'), 'unreachable'],
      [sysError('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT'), 'certificate'],
      [sysError('unable to get local issuer certificate', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'), 'certificate'],
      [sysError('certificate has expired', 'CERT_HAS_EXPIRED'), 'certificate'],
    ];
    for (const [error, cause] of cases) assert.equal(networkFailure(error)?.cause, cause, error.message);
  });

  it('looks inside fetch\'s "fetch failed" and a dual-stack AggregateError', () => {
    const fetchFailed = new TypeError('fetch failed', { cause: sysError('connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED') });
    assert.deepEqual(networkFailure(fetchFailed), { cause: 'refused', detail: 'connect ECONNREFUSED 127.0.0.1:9', code: 'ECONNREFUSED' });
    assert.equal(causeMessages(fetchFailed), 'fetch failed: connect ECONNREFUSED 127.0.0.1:9');
    const both = Object.assign(new AggregateError([sysError('connect ECONNREFUSED ::1:9', 'ECONNREFUSED')], ''), {});
    assert.equal(networkFailure(both)?.cause, 'refused');
  });

  it('leaves alone what is not a network failure', () => {
    assert.equal(networkFailure(new Error('boom')), undefined);
    assert.equal(networkFailure(Object.assign(new Error('no'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } })), undefined);
    assert.equal(networkFailure('a string'), undefined);
  });
});

describe('translating AWS transport failures', () => {
  const call = { action: 'lambda:GetFunction', resource: 'function credit-dev', endpoint: 'http://127.0.0.1:9', region: 'eu-west-1' };

  it('names the service, the endpoint, the cause, and where an override came from', () => {
    const error = translateAwsError(sysError('connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED'), { ...call, endpointSource: 'AWS_ENDPOINT_URL' });
    assert.ok(error instanceof PipeError && error.userError, String(error));
    assert.equal(error.code, 'AWS_UNREACHABLE');
    assert.equal(error.message, 'Could not reach AWS Lambda at http://127.0.0.1:9 (lambda:GetFunction): connection refused (nothing listens there): connect ECONNREFUSED 127.0.0.1:9');
    assert.match(error.hint ?? '', /comes from AWS_ENDPOINT_URL: start the service it points at, correct it, or unset it/);
  });

  it('without an override, a host that does not resolve points at the region and the overrides', () => {
    const endpoint = 'https://lambda.eu-west-1.amazonaws.com';
    const error = translateAwsError(sysError(`getaddrinfo ENOTFOUND lambda.eu-west-1.amazonaws.com`, 'ENOTFOUND'), { ...call, endpoint });
    assert.ok(error instanceof PipeError && error.code === 'AWS_UNREACHABLE');
    assert.match(error.message, /host not found \(DNS\)/);
    assert.match(error.hint ?? '', /region \("eu-west-1"/);
    assert.match(error.hint ?? '', /AWS_ENDPOINT_URL/);
  });

  it('an untrusted certificate suggests NODE_EXTRA_CA_CERTS; TLS to a plain-HTTP endpoint suggests http://', () => {
    const cert = translateAwsError(sysError('self-signed certificate in certificate chain', 'SELF_SIGNED_CERT_IN_CHAIN'), call) as PipeError;
    assert.match(cert.hint ?? '', /NODE_EXTRA_CA_CERTS/);
    const plain = translateAwsError(sysError('wrong version number', 'ERR_SSL_WRONG_VERSION_NUMBER'), call) as PipeError;
    assert.match(plain.hint ?? '', /use http:\/\//);
  });

  it('judges an error answer the SDK could not read by its HTTP status', () => {
    const unreadable = (status: number) =>
      Object.assign(new SyntaxError('Unexpected token \'<\', "<?xml vers"... is not valid JSON'), { $metadata: { httpStatusCode: status } });
    const denied = translateAwsError(unreadable(403), call);
    assert.ok(denied instanceof PipeError && denied.code === 'AWS_ACCESS_DENIED', String(denied));
    assert.match(denied.message, /^Access denied: lambda:GetFunction on function credit-dev \(http:\/\/127\.0\.0\.1:9 answered HTTP 403/);
    assert.match(denied.hint ?? '', /proxy/);
    assert.match(denied.hint ?? '', /Allow lambda:GetFunction/);
    assert.equal((translateAwsError(unreadable(502), call) as PipeError).code, 'AWS_SERVICE_ERROR');
    assert.equal((translateAwsError(unreadable(429), call) as PipeError).code, 'AWS_THROTTLED');
    assert.equal((translateAwsError(unreadable(404), call) as PipeError).code, 'AWS_UNEXPECTED_ANSWER');
    // A query-protocol client calls it "Unknown" and keeps the <Message> it found.
    const query = Object.assign(new Error('Forbidden by proxy'), { name: 'Unknown', $metadata: { httpStatusCode: 403 } });
    assert.match((translateAwsError(query, { action: 'iam:GetRole' }) as PipeError).message, /Access denied: iam:GetRole .*saying "Forbidden by proxy"/);
  });
});
