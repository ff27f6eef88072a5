import { gitCommit } from '../../util/git-commit.js';
import type { ResolvedConfig } from '../../config/resolved.js';
import type { StepReporter } from '../../reporter/reporter.js';
import { auditEnvironment } from '../rules/audit-env.js';
import { ensureBucket, uploadArchive } from '../resources/bucket.js';
import type { AwsClients } from '../resources/clients.js';
import { checkConcurrencyRoom, ensureConcurrency } from '../resources/concurrency.js';
import { checkCredentials } from '../resources/credentials.js';
import { ensureFunction, getFunction, type DesiredFunction } from '../resources/function.js';
import { corsOf } from '../resources/function-url.js';
import { ensureKeepWarm } from '../resources/keep-warm.js';
import { ensureLayer } from '../resources/layer.js';
import { ensureLogGroup } from '../resources/log-group.js';
import { provisionedCostLine } from '../rules/provisioned-cost.js';
import { checkPackageForLambda } from '../rules/package-checks.js';
import { objectKey, resourceNames } from '../rules/names.js';
import { readLocalPackage } from '../../packaging/package-manifest.js';
import { releaseLatest } from './release.js';
import { pruneReleases } from './retention.js';
import type { RolloutReport } from './rollout.js';
import { functionPolicy, ensureRole } from '../resources/role.js';
import { exampleRequestOf } from './smoke-test.js';

/** Environment variables telling the handler where its slim-mode deps archive is. */
export const SLIM_ENV = { bucket: 'PIPE_DEPS_BUCKET', key: 'PIPE_DEPS_KEY', sha256: 'PIPE_DEPS_SHA256' } as const;

export interface StageRunOptions {
  config: ResolvedConfig;
  clients: AwsClients;
  reporter: StepReporter;
  signal?: AbortSignal;
  /** Allow slim mode when the package is over the unzipped limit. */
  allowSlim?: boolean;
  now?: Date;
}

export interface DeployResult {
  url: string;
  version: string;
  /** False when the stage already matched the package: nothing was written. */
  changed: boolean;
  /** The steps of a gradual rollout (release.strategy), when live moved that way. */
  rollout?: RolloutReport;
  /** What release.keepVersions removed. */
  removed?: { versions: string[]; layerVersions: number[] };
}

/**
 * What deploy and update both establish before touching the stage, cheapest first: the local package and
 * its checks (runtime, wheels, sizes), the smoke test's example request, then who we are in AWS.
 */
export async function prepareStage(options: StageRunOptions) {
  const { config, clients, reporter, signal } = options;
  const pkg = await readLocalPackage(config);
  const strategy = checkPackageForLambda(config, pkg, { allowSlim: options.allowSlim ?? false, reporter, now: options.now });
  const example = exampleRequestOf(pkg);
  const identity = await checkCredentials(clients, signal);
  return { pkg, strategy, example, identity, names: resourceNames(config, identity.account) };
}

/**
 * Converges the stage to the local package: bucket, role, deps layer, function, version, aliases,
 * Function URL, permissions, smoke test. Every step reads first and writes only what differs, so it
 * is idempotent and a re-run after an interruption finishes the job.
 */
export async function deployStage(options: StageRunOptions): Promise<DeployResult> {
  const { config, clients, reporter, signal } = options;
  const { pkg, strategy, example, identity, names } = await prepareStage(options);
  reporter.line(`AWS account ${identity.account}, region ${config.region}, stage ${config.stage}`);
  const { manifest } = pkg;

  // The account's concurrency is checked before anything is written: a cap it cannot give fails now.
  const existing = (await getFunction(clients, names.functionName, signal)) ?? null;
  const marks = { arn: `arn:${partitionOf(identity.arn)}:lambda:${config.region}:${identity.account}:function:${names.functionName}`, tags: existing ? { ...existing.Tags } : undefined };
  const concurrency = await checkConcurrencyRoom(clients, config, names, identity.account, marks, reporter, signal);

  const bucket = await ensureBucket(clients, names, reporter, signal);
  let depsObject: { bucket: string; key: string } | undefined;
  const env: Record<string, string> = { ...config.function.env, ...auditEnvironment(config.audit.log, existing?.Configuration?.Environment?.Variables) };
  if (strategy.mode === 'slim') {
    const key = objectKey(names, 'deps', manifest.layer!.depsHash);
    await uploadArchive(clients, { bucket: names.bucket, key, file: pkg.layerZip!, size: manifest.layer!.size, label: 'upload deps archive (slim)' }, reporter, signal);
    depsObject = { bucket: names.bucket, key };
    Object.assign(env, { [SLIM_ENV.bucket]: names.bucket, [SLIM_ENV.key]: key, [SLIM_ENV.sha256]: manifest.layer!.sha256 });
  }

  const policy = functionPolicy({ region: config.region, account: identity.account, logGroup: names.logGroup, depsObject, partition: partitionOf(identity.arn) });
  const role = config.aws.roleArn ? { arn: config.aws.roleArn, changed: false } : await ensureRole(clients, names, policy, reporter, signal);

  const layers: string[] = [];
  let layerPublished = false;
  if (strategy.mode === 'layer') {
    const layer = await ensureLayer(clients, {
      names, archive: manifest.layer!, file: pkg.layerZip!, runtime: manifest.runtime, architecture: manifest.architecture, route: strategy.layerUpload,
    }, reporter, signal);
    layers.push(layer.arn);
    layerPublished = layer.published;
  }

  // Before the function first runs: Lambda would create the group itself, keeping logs forever.
  const logGroup = await ensureLogGroup(clients, names, config.logs.retentionDays, reporter, signal);

  const desired: DesiredFunction = {
    runtime: manifest.runtime,
    handler: manifest.handler,
    roleArn: role.arn,
    memory: config.function.memory,
    timeout: config.function.timeout,
    ephemeralStorage: strategy.ephemeralStorage,
    env,
    layers,
    architecture: manifest.architecture,
  };
  const fn = await ensureFunction(clients, { names, archive: manifest.function, file: pkg.functionZip, route: strategy.functionUpload, desired, existing }, reporter, signal);
  const note = { model: pkg.manifest.model, commit: await gitCommit(config.root) };
  const release = await releaseLatest(clients, { names, auth: config.url.auth, cors: corsOf(config.url.cors), example, note, release: config.release, reporter, signal });
  // After the smoke test: a cap of 0 would throttle it. Provisioned instances and the schedule belong to the live alias.
  const capped = await ensureConcurrency(clients, { config, names, account: identity.account, state: concurrency, marks, reporter, signal });
  const aliasArn = `arn:${partitionOf(identity.arn)}:lambda:${config.region}:${identity.account}:function:${names.functionName}:${names.liveAlias}`;
  const warm = await ensureKeepWarm(clients, { names, rate: config.function.keepWarm, aliasArn, reporter, signal });
  reportSafety(config, reporter);
  const changed = bucket === 'created' || role.changed || layerPublished || logGroup.changed || fn.created || fn.codeChanged || fn.configChanged ||
    release.released || capped || warm.changed;
  const pruned = await keepVersions(clients, options, names);
  reporter.line(changed ? `deployed version ${release.version}` : `no changes: version ${release.version} is live and up to date`);
  reporter.line(clients.meter.summary());
  return { url: release.url, version: release.version, changed: changed || pruned.versions.length + pruned.layerVersions.length > 0, ...(release.rollout ? { rollout: release.rollout } : {}), removed: pruned };
}

/** release.keepVersions, after a successful release: old versions no alias points to, and layer versions none uses. */
export async function keepVersions(clients: AwsClients, options: StageRunOptions, names: ReturnType<typeof resourceNames>): Promise<{ versions: string[]; layerVersions: number[] }> {
  const { config } = options;
  const otherStageFunctions = config.stages.filter((stage) => stage !== config.stage).map((stage) => `${config.app}-${stage}`);
  const result = await pruneReleases(clients, { names, keep: config.release.keepVersions, otherStageFunctions, reporter: options.reporter, signal: options.signal });
  return { versions: result.deletedVersions, layerVersions: result.deletedLayerVersions };
}

const partitionOf = (arn: string): string => arn.split(':')[1] ?? 'aws';

/** What a stage left running costs or risks: provisioned instances' price, a public URL without a cap. */
function reportSafety(config: StageRunOptions['config'], reporter: StageRunOptions['reporter']): void {
  const { provisionedConcurrency, reservedConcurrency, memory } = config.function;
  if (provisionedConcurrency !== undefined) reporter.line(provisionedCostLine(provisionedConcurrency, memory, config.architecture, config.region));
  if (config.url.auth === 'NONE' && reservedConcurrency === undefined) {
    reporter.line(
      'the Function URL is public (url.auth NONE) and nothing caps how many instances requests can start: ' +
        "set function.reservedConcurrency (e.g. `function: { reservedConcurrency: 10 }` in pipeline.config.ts) to bound the bill",
      'warn',
    );
  }
}
