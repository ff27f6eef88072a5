import { PipeError } from '../../errors.js';
import type { StepReporter } from '../../reporter/reporter.js';
import { causeMessages, describeCause, networkFailure } from '../rules/network-errors.js';
import { signRequest, type SigningCredentials } from '../resources/sign-request.js';
import type { LocalPackage } from '../../packaging/package-manifest.js';

export interface SmokeTarget {
  url: string;
  auth: 'NONE' | 'AWS_IAM';
  /** What the function is (for messages): "version 7 (candidate)". */
  what: string;
  /** What the failure means for the deployment. */
  hint: string;
}

export interface SmokeContext {
  region: string;
  /** Needed for AWS_IAM URLs only. */
  credentials?: () => Promise<SigningCredentials>;
  /** One POST /predict body, from the model card. */
  example: unknown;
  signal?: AbortSignal;
  reporter: StepReporter;
}

const REQUEST_TIMEOUT_MS = 30_000;

/** The example request the package task took from the model card, for the smoke test. */
export function exampleRequestOf(pkg: LocalPackage): unknown {
  if (pkg.manifest.exampleRequest === undefined) {
    throw new PipeError('PACKAGE_INVALID', `The package in ${pkg.dir} has no example request for the smoke test (its model card has no example_request)`, {
      hint: 'Have the training script write example_request into the model card (pipe\'s exporter does), then rebuild with `pipe model package`.',
    });
  }
  return pkg.manifest.exampleRequest;
}

async function request(target: SmokeTarget, ctx: SmokeContext, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const url = new URL(path, target.url.endsWith('/') ? target.url : `${target.url}/`);
  const text = body === undefined ? '' : JSON.stringify(body);
  let headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  if (target.auth === 'AWS_IAM') {
    if (!ctx.credentials) throw new PipeError('INTERNAL', 'AWS_IAM smoke test without credentials');
    headers = await signRequest({ method, url, headers, body: text, region: ctx.region, service: 'lambda', credentials: await ctx.credentials() });
  }
  const signals = [AbortSignal.timeout(REQUEST_TIMEOUT_MS), ...(ctx.signal ? [ctx.signal] : [])];
  const fail = (why: string, cause?: unknown): PipeError =>
    new PipeError('SMOKE_TEST_FAILED', `Smoke test of ${target.what} failed: ${method} ${url.pathname} ${why}`, {
      hint: `${target.hint} See \`pipe logs --since 10m\`.`,
      cause,
    });
  let response: Response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : text, signal: AbortSignal.any(signals) });
  } catch (error) {
    if (ctx.signal?.aborted) throw error;
    throw unreachable(error, fail);
  }
  const answer = await response.text();
  if (response.status !== 200) throw fail(`answered ${response.status}: ${answer.slice(0, 300)}`);
  try {
    return JSON.parse(answer);
  } catch (error) {
    throw fail(`answered 200 but not JSON: ${answer.slice(0, 200)}`, error);
  }
}

/**
 * fetch() says only "fetch failed": what failed is in its cause (ECONNREFUSED, ENOTFOUND, a certificate
 * error). The message names it, and the cause kept for --verbose is that innermost error.
 */
function unreachable(error: unknown, fail: (why: string, cause?: unknown) => PipeError): PipeError {
  const network = networkFailure(error);
  const inner = (error as { cause?: unknown } | null)?.cause ?? error;
  if ((error as Error | null)?.name === 'TimeoutError') return fail(`did not answer within ${REQUEST_TIMEOUT_MS / 1000} s`, error);
  if (network) return fail(`could not connect: ${describeCause(network)} (${network.detail})`, inner);
  return fail(`could not connect: ${causeMessages(error)}`, inner);
}

/** GET /health, then one POST /predict with the model card's example; both must answer 200 JSON. */
export async function smokeTest(target: SmokeTarget, ctx: SmokeContext): Promise<void> {
  const started = Date.now();
  await request(target, ctx, 'GET', 'health');
  const prediction = await request(target, ctx, 'POST', 'predict', ctx.example);
  if (prediction === null || typeof prediction !== 'object') {
    throw new PipeError('SMOKE_TEST_FAILED', `Smoke test of ${target.what} failed: POST /predict returned ${JSON.stringify(prediction)}`, {
      hint: target.hint,
    });
  }
  ctx.reporter.line(`smoke test of ${target.what}: GET /health and POST /predict answered 200 in ${Date.now() - started} ms`);
}
