import { PassThrough, type Readable, type Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import { PipeError } from '../errors.js';
import { runScoreDriver, type DriverOptions, type ScoreSummary } from './score-driver.js';

/** Where the batches go: a Function URL, and the headers each request needs (a signature). */
export interface ScoreTarget {
  url: string;
  headers(request: { method: string; url: string; body: string; contentType: string }): Promise<Record<string, string>>;
}

export interface RetryPolicy {
  /** Tries per batch, the first included. */
  attempts: number;
  /** The first wait; each next one doubles, up to `maxMs`, with full jitter. */
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, baseMs: 250, maxMs: 20_000 };

export interface RemoteScoreOptions extends Omit<DriverOptions, 'mode' | 'onProgress'> {
  target: ScoreTarget;
  /** Requests in flight at most. */
  concurrency: number;
  retry?: RetryPolicy;
  onProgress?: (rows: number, seconds: number) => void;
  /** A batch was retried: why, and after how long a wait. */
  onRetry?: (message: string) => void;
}

/** One batch as the requests step writes it. */
interface Batch {
  rows: number[];
  keep: string[][];
  refused: [number, string][];
  body: string;
}

/** The wait before try `attempt + 1`: the server's Retry-After when it gave one, else jittered exponential. */
export function backoffMs(attempt: number, policy: RetryPolicy, retryAfter: string | null, random = Math.random): number {
  const seconds = retryAfter === null ? Number.NaN : Number(retryAfter);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, policy.maxMs);
  return Math.floor(random() * Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1)));
}

/** A status worth trying again: throttling, a failed or overloaded function, no answer at all (0). */
export const retriable = (status: number): boolean => status === 0 || status === 429 || status >= 500;

async function* lines(stream: Readable): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of stream) {
    pending += decoder.write(chunk as Buffer);
    let start = 0;
    let newline = pending.indexOf('\n', start);
    while (newline >= 0) {
      yield pending.slice(start, newline);
      start = newline + 1;
      newline = pending.indexOf('\n', start);
    }
    pending = pending.slice(start);
  }
  pending += decoder.end();
  if (pending) yield pending;
}

async function write(stream: Writable, text: string): Promise<void> {
  if (!stream.write(text)) await new Promise<void>((resolve) => stream.once('drain', resolve));
}

/**
 * Scores a table through a Function URL: the driver cuts the table into the function's own request bodies
 * (`requests`), each goes to `POST /predict?errors=each` with at most `concurrency` in flight, throttling
 * and 5xx answers are tried again with backoff, and the answers, in input order, go to the driver again
 * (`format`), which writes exactly what a local score of the same package writes. A batch is sent until
 * it is answered once; a batch that cannot be answered stops the run (nothing is skipped).
 */
export async function scoreThroughUrl(options: RemoteScoreOptions): Promise<ScoreSummary> {
  const { target, concurrency } = options;
  const policy = options.retry ?? DEFAULT_RETRY;
  const inner = new AbortController();
  const stop = () => inner.abort(options.signal.reason);
  options.signal.addEventListener('abort', stop, { once: true });
  const requests = new PassThrough();
  const answers = new PassThrough();
  const common = { host: options.host, pkg: options.pkg, args: options.args, env: options.env, signal: inner.signal, onLog: options.onLog };
  const cutting = runScoreDriver({ ...common, mode: 'requests', input: options.input, output: requests }).finally(() => requests.end());
  const formatting = runScoreDriver({ ...common, mode: 'format', input: answers, output: options.output, onProgress: options.onProgress });
  const endpoint = new URL('predict?errors=each', target.url.endsWith('/') ? target.url : `${target.url}/`).toString();

  const answer = async (batch: Batch): Promise<string> => {
    const expected = batch.keep.length - batch.refused.length;
    if (expected === 0) return JSON.stringify({ ...batch, answer: null });
    const rows = `rows ${batch.rows[0]}-${batch.rows.at(-1)}`;
    for (let attempt = 1; ; attempt++) {
      let status = 0;
      let text = '';
      let retryAfter: string | null = null;
      try {
        const headers = await target.headers({ method: 'POST', url: endpoint, body: batch.body, contentType: 'application/json' });
        const response = await fetch(endpoint, { method: 'POST', body: batch.body, headers: { 'content-type': 'application/json', ...headers }, signal: inner.signal });
        status = response.status;
        retryAfter = response.headers.get('retry-after');
        text = await response.text();
      } catch (error) {
        if (inner.signal.aborted) throw error;
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        text = cause?.code ?? cause?.message ?? String(error);
      }
      if (status === 200) {
        const predictions = (JSON.parse(text) as { predictions?: unknown[] }).predictions;
        if (!Array.isArray(predictions) || predictions.length !== expected) {
          throw new PipeError('SCORE_ANSWER_MISMATCH', `${rows}: the function answered ${Array.isArray(predictions) ? predictions.length : 'no'} predictions for ${expected} records`, {
            hint: 'The URL does not serve this model (check --url, or `npx pipe status`).',
          });
        }
        return JSON.stringify({ ...batch, answer: text });
      }
      const what = status === 0 ? `no answer (${text})` : `${status} ${text.slice(0, 300)}`;
      if (!retriable(status) || attempt >= policy.attempts) {
        throw new PipeError('SCORE_HTTP_ERROR', `${rows}: the function answered ${what}${attempt > 1 ? ` (after ${attempt} tries)` : ''}`, {
          hint: status === 0
            ? 'Is the URL right and reachable (`npx pipe status`)?'
            : status === 403
              ? 'The URL refused the request: with url.auth AWS_IAM use --deployed (requests are signed), and check the credentials may invoke it.'
              : retriable(status)
                ? 'The function kept failing or throttling: lower --concurrency, raise function.reservedConcurrency, or look at `npx pipe logs`.'
                : 'The answer above says what the function refused.',
        });
      }
      const wait = backoffMs(attempt, policy, retryAfter);
      options.onRetry?.(`${rows}: ${what.split('\n')[0]}; trying again in ${wait} ms (try ${attempt + 1} of ${policy.attempts})`);
      await sleep(wait, undefined, { signal: inner.signal });
    }
  };

  const middle = (async () => {
    let header = true;
    const window: Promise<string>[] = [];
    for await (const line of lines(requests)) {
      if (!line) continue;
      if (header) {
        header = false;
        await write(answers, `${line}\n`);
        continue;
      }
      const sent = answer(JSON.parse(line) as Batch);
      sent.catch(() => undefined); // awaited in order below; a failure is reported there
      window.push(sent);
      while (window.length >= concurrency) await write(answers, `${await window.shift()!}\n`);
    }
    while (window.length) await write(answers, `${await window.shift()!}\n`);
    answers.end();
  })();

  // The first failure stops the other two (a driver waiting on a pipe nobody reads any more) and is the
  // one reported.
  let first: { error: unknown } | undefined;
  const watch = <T>(work: Promise<T>) => work.catch((error: unknown) => {
    first ??= { error };
    inner.abort(error);
    return undefined;
  });
  try {
    const [, , summary] = await Promise.all([watch(middle), watch(cutting), watch(formatting)]);
    if (first) throw first.error;
    return summary!;
  } finally {
    options.signal.removeEventListener('abort', stop);
  }
}
