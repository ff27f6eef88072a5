import { DeleteFunctionCommand, type AliasConfiguration, type FunctionConfiguration } from '@aws-sdk/client-lambda';
import type { StepReporter } from '../../reporter/reporter.js';
import { isNotFound } from '../rules/aws-errors.js';
import type { AwsClients } from '../resources/clients.js';
import { getFunction } from '../resources/function.js';
import { deleteLayerVersion, listLayerVersions } from '../resources/layer.js';
import type { ResourceNames } from '../rules/names.js';
import { writeOptions } from '../rules/write-options.js';
import { allAliases, allVersions } from './versions.js';

export interface RetentionResult {
  deletedVersions: string[];
  deletedLayerVersions: number[];
}

/** The versions an alias points to, with a weight or without: never deleted. */
export function aliasedVersions(aliases: readonly AliasConfiguration[]): Set<string> {
  const out = new Set<string>();
  for (const alias of aliases) {
    if (alias.FunctionVersion) out.add(alias.FunctionVersion);
    for (const version of Object.keys(alias.RoutingConfig?.AdditionalVersionWeights ?? {})) out.add(version);
  }
  return out;
}

/** Which versions retention deletes: beyond the newest `keep`, and no alias on them. */
export function versionsToDelete(versions: readonly string[], aliased: ReadonlySet<string>, keep: number): string[] {
  const newestFirst = [...versions].sort((a, b) => Number(b) - Number(a));
  return newestFirst.slice(keep).filter((version) => !aliased.has(version));
}

const layerArnsOf = (configs: readonly FunctionConfiguration[]): string[] => configs.flatMap((c) => (c.Layers ?? []).flatMap((l) => (l.Arn ? [l.Arn] : [])));

/**
 * After a successful deploy: deletes the function's published versions beyond the newest `keep` that no
 * alias points to (a weight counts), then the versions of the app's deps layer that no remaining version
 * of any of the app's stages uses (the layer is shared by the stages).
 */
export async function pruneReleases(
  clients: AwsClients,
  args: { names: ResourceNames; keep: number; otherStageFunctions: string[]; reporter: StepReporter; signal?: AbortSignal },
): Promise<RetentionResult> {
  const { names, keep, reporter, signal } = args;
  const fn = names.functionName;
  const [versions, aliases] = await Promise.all([allVersions(clients, fn, signal, true), allAliases(clients, fn, signal)]);
  const doomed = versionsToDelete(versions.filter((v) => v.Version !== '$LATEST').map((v) => v.Version!), aliasedVersions(aliases), keep);
  for (const version of doomed) {
    try {
      await clients.lambda.send(new DeleteFunctionCommand({ FunctionName: fn, Qualifier: version }), writeOptions(signal));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  if (doomed.length) reporter.line(`removed ${doomed.length} old version${doomed.length === 1 ? '' : 's'} (${doomed.join(', ')}): release.keepVersions keeps ${keep}`);

  const inUse = new Set(layerArnsOf(versions.filter((v) => !doomed.includes(v.Version!))));
  const layerVersions = await listLayerVersions(clients, names.layerName, signal);
  // The newest layer version stays whatever uses it: another stage's deploy may be about to.
  const newest = Math.max(0, ...layerVersions.map((l) => l.Version ?? 0));
  let unused = layerVersions.filter((l) => l.LayerVersionArn && l.Version !== newest && !inUse.has(l.LayerVersionArn));
  // Another stage's versions may use what this one does not: read them only when something would go.
  for (const other of args.otherStageFunctions) {
    if (unused.length === 0) break;
    if (!(await getFunction(clients, other, signal))) continue;
    const used = new Set(layerArnsOf(await allVersions(clients, other, signal, true)));
    unused = unused.filter((l) => !used.has(l.LayerVersionArn!));
  }
  const deletedLayerVersions: number[] = [];
  for (const layer of unused) {
    await deleteLayerVersion(clients, names.layerName, layer.Version!, signal);
    deletedLayerVersions.push(layer.Version!);
  }
  if (deletedLayerVersions.length) {
    reporter.line(`removed layer version${deletedLayerVersions.length === 1 ? '' : 's'} ${deletedLayerVersions.map((v) => `${names.layerName}:${v}`).join(', ')}: no version uses ${deletedLayerVersions.length === 1 ? 'it' : 'them'}`);
  }
  return { deletedVersions: doomed, deletedLayerVersions };
}
