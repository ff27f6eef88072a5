import { GetFunctionConfigurationCommand, PublishVersionCommand, type FunctionConfiguration } from '@aws-sdk/client-lambda';
import type { StepReporter } from '../../reporter/reporter.js';
import { isNotFound } from '../rules/aws-errors.js';
import type { AwsClients } from '../resources/clients.js';
import { ensurePublicAccess, ensureUrl, getAlias, getAliasVersion, pointAlias, weightedVersion, type UrlAuth } from '../resources/function-url.js';
import type { ResolvedConfig } from '../../config/resolved.js';
import { rollOut, rolloutPlan, type RolloutReport } from './rollout.js';
import type { ResourceNames } from '../rules/names.js';
import type { Cors } from '@aws-sdk/client-lambda';
import { retryConflicts } from '../resources/retry.js';
import { smokeTest } from './smoke-test.js';
import { waitFunctionReady } from '../resources/wait-function.js';
import { writeOptions } from '../rules/write-options.js';
import { versionDescription } from '../rules/version-note.js';
import type { ModelSummary } from '../../packaging/artifacts.js';

/** What makes two function versions the same release: code and the configuration that shapes it. */
function releaseFingerprint(c: FunctionConfiguration): string {
  return JSON.stringify([
    c.CodeSha256, c.Runtime, c.Handler, c.Role, c.MemorySize, c.Timeout, c.EphemeralStorage?.Size ?? 512,
    Object.entries(c.Environment?.Variables ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)),
    (c.Layers ?? []).map((l) => l.Arn), c.Architectures ?? ['x86_64'],
  ]);
}

async function versionConfig(clients: AwsClients, functionName: string, qualifier: string | undefined, signal?: AbortSignal): Promise<FunctionConfiguration | undefined> {
  if (qualifier === undefined) return undefined;
  try {
    return await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName, Qualifier: qualifier }), { abortSignal: signal });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export interface ReleaseArgs {
  names: ResourceNames;
  auth: UrlAuth;
  cors?: Cors;
  /** POST /predict body for the smoke test. */
  example: unknown;
  /** What a version published now records (its Description): the model and the git commit. */
  note?: { model?: ModelSummary; commit?: string };
  /** How live moves to a new version (release.strategy and what a gradual one watches); default all at once. */
  release?: ResolvedConfig['release'];
  reporter: StepReporter;
  signal?: AbortSignal;
}

export interface ReleaseResult {
  url: string;
  version: string;
  /** False when `live` already served exactly this code and configuration. */
  released: boolean;
  previousVersion?: string;
  /** The steps of a gradual rollout, when there was one. */
  rollout?: RolloutReport;
}

/**
 * Publishes $LATEST as a version and makes it live, so that `live` never points at a version that
 * failed its smoke test. The public URL belongs to alias `live`; a new version is first pointed to by
 * alias `candidate`, whose own Function URL is AWS_IAM-only (never public), and smoke-tested there with
 * signed requests. Only when that passes does `live` move. A failure leaves `live` where it was and
 * `candidate` on the failed version for inspection. Re-running after an interruption resumes: an
 * already published matching version (on `candidate`) is reused, an already moved alias is left alone.
 */
export async function releaseLatest(clients: AwsClients, args: ReleaseArgs): Promise<ReleaseResult> {
  const { names, reporter, signal } = args;
  const fn = names.functionName;
  const latest = await waitFunctionReady(clients, fn, undefined, signal);
  const wanted = releaseFingerprint(latest);
  const liveAlias = await getAlias(clients, fn, names.liveAlias, signal);
  const liveVersion = liveAlias?.FunctionVersion;
  // An interrupted gradual rollout: live still serves its version, with a share going to another.
  const inFlight = weightedVersion(liveAlias);
  const liveConfig = await versionConfig(clients, fn, liveVersion, signal);
  const credentials = () => clients.lambda.config.credentials();
  const smoke = { region: clients.region, credentials, example: args.example, signal, reporter };

  let version = liveVersion;
  let released = false;
  let rollout: RolloutReport | undefined;
  if (liveConfig && releaseFingerprint(liveConfig) === wanted) {
    if (inFlight) {
      await pointAlias(clients, fn, names.liveAlias, liveVersion!, signal);
      reporter.line(`the rollout of version ${inFlight.version} (${Math.round(inFlight.weight * 1000) / 10}% of live) was stopped: this package is version ${liveVersion}, which live serves`);
      released = true;
    }
  } else {
    const candidateVersion = await getAliasVersion(clients, fn, names.candidateAlias, signal);
    let reused: string | undefined;
    for (const known of new Set([candidateVersion, inFlight?.version])) {
      const config = await versionConfig(clients, fn, known, signal);
      if (config && releaseFingerprint(config) === wanted) {
        reused = known;
        break;
      }
    }
    if (reused) {
      version = reused;
      reporter.line(`version ${version} was already published for this code: reused`);
    } else {
      const Description = versionDescription(args.note?.model, args.note?.commit, liveVersion);
      const published = await retryConflicts(clients, () => clients.lambda.send(new PublishVersionCommand({
        FunctionName: fn, CodeSha256: latest.CodeSha256, RevisionId: latest.RevisionId, Description,
      }), writeOptions(signal)), signal);
      version = published.Version!;
      reporter.line(`published version ${version}`);
    }
    await waitFunctionReady(clients, fn, version, signal);
    await pointAlias(clients, fn, names.candidateAlias, version, signal);
    const candidate = await ensureUrl(clients, { functionName: fn, qualifier: names.candidateAlias, auth: 'AWS_IAM' }, signal);
    await smokeTest({ url: candidate.url, auth: 'AWS_IAM', what: `version ${version} (candidate)`,
      hint: liveVersion ? `The live alias still serves version ${liveVersion}.` : 'Nothing is live yet.' }, smoke);
    const plan = args.release ? rolloutPlan(args.release.strategy) : undefined;
    if (plan && liveVersion && args.release) {
      const resuming = inFlight?.version === version;
      if (inFlight && !resuming) reporter.line(`a rollout of version ${inFlight.version} was under way (${Math.round(inFlight.weight * 1000) / 10}% of live): version ${version} replaces it`);
      if (resuming) reporter.line(`resuming the rollout of version ${version} at ${Math.round(inFlight.weight * 1000) / 10}% of live`);
      rollout = await rollOut(clients, {
        functionName: fn, alias: names.liveAlias, from: liveVersion, to: version, plan, release: args.release, region: clients.region,
        ...(resuming ? { resumeWeight: inFlight.weight } : {}), reporter, signal,
      });
    } else {
      await pointAlias(clients, fn, names.liveAlias, version, signal);
      reporter.line(liveVersion ? `alias live: version ${liveVersion} -> ${version}` : `alias live -> version ${version}`);
    }
    released = true;
  }
  const live = await ensureUrl(clients, { functionName: fn, qualifier: names.liveAlias, auth: args.auth, cors: args.cors }, signal);
  await ensurePublicAccess(clients, fn, names.liveAlias, args.auth, signal);
  await smokeTest({ url: live.url, auth: args.auth, what: `${live.url} (live, version ${version})`,
    hint: 'The version passed its own smoke test, so check the Function URL and its permissions.' }, smoke);
  return { url: live.url, version: version!, released, previousVersion: released ? liveVersion : undefined, ...(rollout ? { rollout } : {}) };
}
