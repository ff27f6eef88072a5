import {
  GetFunctionConfigurationCommand, ListAliasesCommand, ListVersionsByFunctionCommand, TagResourceCommand,
  type AliasConfiguration, type FunctionConfiguration,
} from '@aws-sdk/client-lambda';
import { PipeError, UsageError } from '../../errors.js';
import { readLocalPackage } from '../../packaging/package-manifest.js';
import { signRequest } from '../resources/sign-request.js';
import { checkCredentials } from '../resources/credentials.js';
import { getFunction } from '../resources/function.js';
import { ensureUrl, getAlias, getUrl, pointAlias, weightedVersion } from '../resources/function-url.js';
import { isNotFound } from '../rules/aws-errors.js';
import { resourceNames } from '../rules/names.js';
import { parseVersionNote, type VersionNote } from '../rules/version-note.js';
import { writeOptions } from '../rules/write-options.js';
import type { StageRunOptions } from './deploy.js';
import type { AwsClients } from '../resources/clients.js';
import { smokeTest } from './smoke-test.js';

/** One published version of the stage's function, as `pipe versions` lists it. */
export interface VersionRow {
  version: string;
  /** When it was published (the version's LastModified). */
  published?: string;
  /** What pipe recorded with it; undefined: not published by pipe. */
  note?: VersionNote;
  /** The aliases pointing at it: `live`, `candidate`, or `live 10%` while a share of traffic goes to it. */
  aliases: string[];
}

/** The tag on the function that says which rollback `live` is in: `<from>-><to>`. */
const ROLLBACK_TAG = 'pipe:rollback';

/** Every item of a Marker/NextMarker listing. */
async function everyPage<T>(page: (marker: string | undefined) => Promise<{ items?: T[]; next?: string }>): Promise<T[]> {
  const out: T[] = [];
  let marker: string | undefined;
  do {
    const { items, next } = await page(marker);
    out.push(...(items ?? []));
    marker = next;
  } while (marker);
  return out;
}

/** The function's published versions (with $LATEST when asked). */
export async function allVersions(clients: AwsClients, functionName: string, signal?: AbortSignal, withLatest = false): Promise<FunctionConfiguration[]> {
  const versions = await everyPage(async (Marker) => {
    const out = await clients.lambda.send(new ListVersionsByFunctionCommand({ FunctionName: functionName, Marker }), { abortSignal: signal });
    return { items: out.Versions, next: out.NextMarker };
  });
  return versions.filter((v) => v.Version && (withLatest || v.Version !== '$LATEST'));
}

export const allAliases = (clients: AwsClients, functionName: string, signal?: AbortSignal): Promise<AliasConfiguration[]> =>
  everyPage(async (Marker) => {
    const out = await clients.lambda.send(new ListAliasesCommand({ FunctionName: functionName, Marker }), { abortSignal: signal });
    return { items: out.Aliases, next: out.NextMarker };
  });

const percent = (weight: number): string => `${Math.round(weight * 1000) / 10}%`;

/** The stage's published versions, newest first, each with what pipe recorded and the aliases on it. */
export async function listVersions(options: StageRunOptions): Promise<{ functionName: string; rows: VersionRow[] }> {
  const identity = await checkCredentials(options.clients, options.signal);
  const names = resourceNames(options.config, identity.account);
  if (!(await getFunction(options.clients, names.functionName, options.signal))) {
    throw new PipeError('NOT_DEPLOYED', `Stage "${options.config.stage}" has no function ${names.functionName}`, { hint: 'Deploy first (`npx pipe deploy`).' });
  }
  const [versions, aliases] = await Promise.all([allVersions(options.clients, names.functionName, options.signal), allAliases(options.clients, names.functionName, options.signal)]);
  const on = new Map<string, string[]>();
  const add = (version: string, label: string) => on.set(version, [...(on.get(version) ?? []), label]);
  for (const alias of aliases) {
    const weights = Object.entries(alias.RoutingConfig?.AdditionalVersionWeights ?? {});
    const rest = 1 - weights.reduce((sum, [, w]) => sum + w, 0);
    if (alias.FunctionVersion) add(alias.FunctionVersion, weights.length ? `${alias.Name} ${percent(rest)}` : alias.Name!);
    for (const [version, weight] of weights) add(version, `${alias.Name} ${percent(weight)}`);
  }
  const rows = versions
    .map((v) => ({ version: v.Version!, published: v.LastModified, note: parseVersionNote(v.Description), aliases: on.get(v.Version!) ?? [] }))
    .sort((a, b) => Number(b.version) - Number(a.version));
  return { functionName: names.functionName, rows };
}

export interface RollbackResult {
  url: string;
  version: string;
  from: string;
  changed: boolean;
  note?: VersionNote;
}

/**
 * The request the target version's smoke test sends: the example on the card it serves (GET / through
 * the signed candidate URL), else the local package's.
 */
async function targetExample(url: string, options: StageRunOptions): Promise<unknown> {
  const credentials = await options.clients.lambda.config.credentials();
  const target = new URL(url);
  const headers = await signRequest({ method: 'GET', url: target, headers: { accept: 'application/json' }, body: '', region: options.config.region, service: 'lambda', credentials });
  const response = await fetch(target, { headers, signal: options.signal });
  const text = await response.text();
  try {
    const served = response.ok ? (JSON.parse(text) as { example_request?: unknown }).example_request : undefined;
    if (served !== undefined) return served;
  } catch {
    // Not a card: the local package's example below.
  }
  const local = await readLocalPackage(options.config).then((pkg) => pkg.manifest.exampleRequest, () => undefined);
  if (local !== undefined) return local;
  throw new PipeError('ROLLBACK_NO_EXAMPLE', `Version at ${url} serves no model card with an example request (GET / answered ${response.status}), and there is no local package to take one from`, {
    hint: 'Build the package (`npx pipe package`) so that its example request can smoke-test the version.',
  });
}

/**
 * Moves `live` back: to `to`, or to the version live pointed at before its current one (recorded when
 * pipe published it). The target is smoke-tested through `candidate` first; live moves only if it
 * passes. Nothing is built or uploaded. A second rollback to where live already is writes nothing.
 */
export async function rollbackStage(options: StageRunOptions & { to?: string }): Promise<RollbackResult> {
  const { clients, config, reporter, signal } = options;
  const identity = await checkCredentials(clients, signal);
  const names = resourceNames(config, identity.account);
  const fn = await getFunction(clients, names.functionName, signal);
  const liveAlias = fn ? await getAlias(clients, names.functionName, names.liveAlias, signal) : undefined;
  const live = liveAlias?.FunctionVersion;
  if (!fn || !live) throw new PipeError('NOT_DEPLOYED', `Stage "${config.stage}" has no live version to roll back`, { hint: 'Deploy first (`npx pipe deploy`).' });
  const url = (await getUrl(clients, names.functionName, names.liveAlias, signal))?.url;
  // A gradual rollout under way (or interrupted): rolling back takes its weight away; live's own version already serves.
  const inFlight = weightedVersion(liveAlias);
  if (inFlight && (options.to === undefined || options.to === live)) {
    await pointAlias(clients, names.functionName, names.liveAlias, live, signal);
    reporter.line(`reverted the rollout of version ${inFlight.version} (it had ${Math.round(inFlight.weight * 1000) / 10}% of live): live serves version ${live} only`);
    const note = parseVersionNote((await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: names.functionName, Qualifier: live }), { abortSignal: signal })).Description);
    return { url: url ?? '', version: live, from: inFlight.version, changed: true, ...(note ? { note } : {}) };
  }
  const config_ = async (version: string) => {
    try {
      return await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: names.functionName, Qualifier: version }), { abortSignal: signal });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };
  // An earlier rollback that ended on the live version: rolling back again means the same target.
  const [rolledFrom, rolledTo] = (fn.Tags?.[ROLLBACK_TAG] ?? '').split('->');
  let target = options.to;
  if (target === undefined) {
    target = rolledTo === live ? live : parseVersionNote((await config_(live))?.Description)?.previous;
    if (target === undefined) {
      throw new UsageError('ROLLBACK_NO_TARGET', `Version ${live} (live) records no earlier version to go back to`, { hint: 'Pass --to N with a version `npx pipe versions` lists.' });
    }
  }
  if (target === live) {
    reporter.line(`live already serves version ${live}${rolledTo === live && rolledFrom ? ` (rolled back from ${rolledFrom})` : ''}: nothing to do`);
    return { url: url ?? '', version: live, from: live, changed: false, note: parseVersionNote((await config_(live))?.Description) };
  }
  const wanted = await config_(target);
  if (!wanted) throw new UsageError('ROLLBACK_NO_VERSION', `${names.functionName} has no version ${target}`, { hint: 'Pick one `npx pipe versions` lists.' });
  const note = parseVersionNote(wanted.Description);
  if (!note) {
    throw new UsageError('ROLLBACK_NOT_PIPES', `Version ${target} of ${names.functionName} was not published by pipe for stage ${config.stage}`, { hint: 'Roll back to a version pipe published (`npx pipe versions` marks them).' });
  }
  await pointAlias(clients, names.functionName, names.candidateAlias, target, signal);
  const candidate = await ensureUrl(clients, { functionName: names.functionName, qualifier: names.candidateAlias, auth: 'AWS_IAM' }, signal);
  const smoke = { region: clients.region, credentials: () => clients.lambda.config.credentials(), example: await targetExample(candidate.url, options), signal, reporter };
  await smokeTest({ url: candidate.url, auth: 'AWS_IAM', what: `version ${target} (candidate)`, hint: `The live alias still serves version ${live}.` }, smoke);
  await pointAlias(clients, names.functionName, names.liveAlias, target, signal);
  await clients.lambda.send(new TagResourceCommand({ Resource: fn.Configuration!.FunctionArn!, Tags: { [ROLLBACK_TAG]: `${live}->${target}` } }), writeOptions(signal));
  reporter.line(`alias live: version ${live} -> ${target} (rolled back${note.modelVersion ? `; model ${note.model}@${note.modelVersion}` : ''})`);
  return { url: url ?? '', version: target, from: live, changed: true, note };
}
