/**
 * Network failures (nothing listening, a name that does not resolve, no answer in time, a certificate
 * Node does not trust) are the user's environment, not a bug in pipe: they are recognised here from
 * Node's error codes, wherever they hide (fetch wraps them in `cause`, a dual-stack connect in an
 * AggregateError), and described in words.
 */

/** What went wrong on the way to an endpoint. */
export type NetworkCause = 'refused' | 'dns' | 'timeout' | 'certificate' | 'reset' | 'unreachable';

export interface NetworkFailure {
  cause: NetworkCause;
  /** The system's own words: "connect ECONNREFUSED 127.0.0.1:9". */
  detail: string;
  /** Node's error code, when there is one. */
  code?: string;
}

const CODES: Record<string, NetworkCause> = {
  ECONNREFUSED: 'refused',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_NONAME: 'dns',
  ETIMEDOUT: 'timeout',
  ESOCKETTIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  UND_ERR_SOCKET: 'reset',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  ENETDOWN: 'unreachable',
};

/** OpenSSL's verification codes and Node's TLS codes: a certificate (or TLS itself) was refused. */
const CERTIFICATE_CODE = /^(CERT_|UNABLE_TO_|ERR_TLS_|ERR_SSL_)|SELF_SIGNED|_CERT$/;

/** Timeouts raised by name rather than code: the SDK's handler, AbortSignal.timeout(). */
const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'ConnectTimeoutError']);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
}

function classify(error: ErrorLike): NetworkCause | undefined {
  const code = typeof error.code === 'string' ? error.code : '';
  if (CODES[code]) return CODES[code];
  if (code && CERTIFICATE_CODE.test(code)) return 'certificate';
  if (typeof error.name === 'string' && TIMEOUT_NAMES.has(error.name)) return 'timeout';
  return undefined;
}

/** The error and the errors it wraps (cause chain, AggregateError members), outermost first. */
function* chain(error: unknown, depth = 0): Generator<ErrorLike> {
  if (depth > 5 || typeof error !== 'object' || error === null) return;
  const e = error as ErrorLike;
  yield e;
  if (e.cause !== undefined) yield* chain(e.cause, depth + 1);
  if (Array.isArray(e.errors)) for (const inner of e.errors) yield* chain(inner, depth + 1);
}

/** The network failure behind `error`, or undefined when it is something else (an HTTP answer, a bug). */
export function networkFailure(error: unknown): NetworkFailure | undefined {
  for (const e of chain(error)) {
    const cause = classify(e);
    if (cause) {
      const message = typeof e.message === 'string' && e.message ? e.message : String(e.code ?? e.name);
      return { cause, detail: message, ...(typeof e.code === 'string' ? { code: e.code } : {}) };
    }
  }
  return undefined;
}

/** The cause in a few words, for "could not reach X: <words>". */
export function describeCause(failure: NetworkFailure): string {
  switch (failure.cause) {
    case 'refused':
      return 'connection refused (nothing listens there)';
    case 'dns':
      return 'host not found (DNS)';
    case 'timeout':
      return 'timed out';
    case 'certificate':
      return 'TLS certificate not accepted';
    case 'reset':
      return 'connection closed by the other side';
    case 'unreachable':
      return 'network unreachable';
    default: {
      const never: never = failure.cause;
      return never;
    }
  }
}

/** Every message along the cause chain, so "fetch failed" is followed by what actually failed. */
export function causeMessages(error: unknown): string {
  const seen: string[] = [];
  for (const e of chain(error)) {
    const message = typeof e.message === 'string' ? e.message.trim() : '';
    if (message && !seen.includes(message)) seen.push(message);
  }
  return seen.join(': ');
}
