import {
  DeleteLayerVersionCommand, ListLayerVersionsCommand, PublishLayerVersionCommand, type LayerVersionsListItem,
} from '@aws-sdk/client-lambda';
import { readFile } from 'node:fs/promises';
import type { Architecture } from '../../lambda/facts.js';
import type { StepReporter } from '../../reporter/reporter.js';
import { isNotFound } from '../rules/aws-errors.js';
import { uploadArchive } from './bucket.js';
import type { AwsClients } from './clients.js';
import { depsHashOfLayerDescription, layerDescription, objectKey, type ResourceNames } from '../rules/names.js';
import type { PackageArchive } from '../../packaging/package-manifest.js';
import type { UploadRoute } from '../rules/size-strategy.js';
import { writeOptions } from '../rules/write-options.js';

export async function listLayerVersions(clients: AwsClients, layerName: string, signal?: AbortSignal): Promise<LayerVersionsListItem[]> {
  const versions: LayerVersionsListItem[] = [];
  let marker: string | undefined;
  try {
    do {
      const page = await clients.lambda.send(new ListLayerVersionsCommand({ LayerName: layerName, Marker: marker }), { abortSignal: signal });
      versions.push(...(page.LayerVersions ?? []));
      marker = page.NextMarker;
    } while (marker);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  return versions;
}

/** A published version of this deps hash for this runtime and architecture, if one exists. */
export function findLayerVersion(versions: readonly LayerVersionsListItem[], depsHash: string, runtime: string, architecture: string): LayerVersionsListItem | undefined {
  return versions.find(
    (v) =>
      depsHashOfLayerDescription(v.Description) === depsHash &&
      (!v.CompatibleRuntimes?.length || v.CompatibleRuntimes.includes(runtime as never)) &&
      (!v.CompatibleArchitectures?.length || v.CompatibleArchitectures.includes(architecture as never)),
  );
}

/**
 * The deps layer is content-addressed: published once per deps hash and reused by every later deploy
 * (and by the app's other stages), so a handler change never re-uploads the dependency tree.
 */
export async function ensureLayer(
  clients: AwsClients,
  args: { names: ResourceNames; archive: PackageArchive & { depsHash: string }; file: string; runtime: string; architecture: Architecture; route: UploadRoute },
  reporter: StepReporter,
  signal?: AbortSignal,
): Promise<{ arn: string; published: boolean }> {
  const { names, archive } = args;
  const existing = findLayerVersion(await listLayerVersions(clients, names.layerName, signal), archive.depsHash, args.runtime, args.architecture);
  if (existing?.LayerVersionArn) {
    reporter.line(`layer ${names.layerName}:${existing.Version} already holds deps ${archive.depsHash.slice(0, 12)}: reused`);
    return { arn: existing.LayerVersionArn, published: false };
  }
  let content: { ZipFile: Uint8Array } | { S3Bucket: string; S3Key: string };
  if (args.route === 'direct') {
    content = { ZipFile: await readFile(args.file) };
    clients.meter.uploaded(archive.size);
  } else {
    const key = objectKey(names, 'layer', archive.depsHash);
    await uploadArchive(clients, { bucket: names.bucket, key, file: args.file, size: archive.size, label: 'upload layer.zip' }, reporter, signal);
    content = { S3Bucket: names.bucket, S3Key: key };
  }
  const published = await clients.lambda.send(new PublishLayerVersionCommand({
    LayerName: names.layerName,
    Description: layerDescription(archive.depsHash),
    Content: content,
    CompatibleRuntimes: [args.runtime as never],
    CompatibleArchitectures: [args.architecture],
  }), writeOptions(signal));
  reporter.line(`published layer ${names.layerName}:${published.Version} (${archive.size.toLocaleString('en-US')} bytes, deps ${archive.depsHash.slice(0, 12)})`);
  return { arn: published.LayerVersionArn!, published: true };
}

export async function deleteLayerVersion(clients: AwsClients, layerName: string, version: number, signal?: AbortSignal): Promise<void> {
  await clients.lambda.send(new DeleteLayerVersionCommand({ LayerName: layerName, VersionNumber: version }), writeOptions(signal));
}
