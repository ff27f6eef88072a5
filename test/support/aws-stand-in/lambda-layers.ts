import { AwsError, invalidParameter, validationError } from './errors.js';
import { UNZIPPED_LIMIT } from './code.js';
import { emptyResponse, jsonResponse, lambdaTimestamp, type ApiResponse, type StandInContext } from './context.js';
import { readCode, paginate } from './lambda-functions.js';
import type { LayerRecord, LayerVersionRecord } from './types.js';

interface PublishLayerInput {
  Description?: string;
  Content?: { ZipFile?: string; S3Bucket?: string; S3Key?: string; S3ObjectVersion?: string };
  CompatibleRuntimes?: string[];
  CompatibleArchitectures?: string[];
  LicenseInfo?: string;
}

function checkLayerName(name: string): void {
  if (!/^[a-zA-Z0-9_-]{1,64}$/.test(name)) {
    throw validationError(`Value '${name}' at 'layerName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+`);
  }
}

function layerVersionJson(ctx: StandInContext, version: LayerVersionRecord, withContent: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {
    LayerVersionArn: version.layerVersionArn,
    Version: version.version,
    Description: version.description,
    CreatedDate: version.createdDate,
  };
  if (withContent) {
    body['LayerArn'] = version.layerArn;
    body['Content'] = {
      Location: `${ctx.endpoint}/__layer/${encodeURIComponent(version.layerName)}/${version.version}`,
      CodeSha256: version.code.sha256,
      CodeSize: version.code.size,
    };
  }
  if (version.compatibleRuntimes) body['CompatibleRuntimes'] = version.compatibleRuntimes;
  if (version.compatibleArchitectures) body['CompatibleArchitectures'] = version.compatibleArchitectures;
  if (version.licenseInfo !== undefined) body['LicenseInfo'] = version.licenseInfo;
  return body;
}

export async function publishLayerVersion(ctx: StandInContext, name: string, input: PublishLayerInput): Promise<ApiResponse> {
  checkLayerName(name);
  if (!input.Content) throw validationError(`Value null at 'content' failed to satisfy constraint: Member must not be null`);
  if ((input.CompatibleRuntimes?.length ?? 0) > 15) throw invalidParameter('Cannot specify more than 15 compatible runtimes.');
  const archs = input.CompatibleArchitectures ?? [];
  if (archs.length > 2 || archs.some((arch) => arch !== 'x86_64' && arch !== 'arm64')) {
    throw validationError(`Value '[${archs.join(', ')}]' at 'compatibleArchitectures' failed to satisfy constraint: Member must satisfy enum value set: [x86_64, arm64]`);
  }
  const code = await readCode(ctx, input.Content, 'PublishLayerVersion');
  if (code.unzippedSize > UNZIPPED_LIMIT) {
    throw invalidParameter(`Unzipped size must be smaller than ${UNZIPPED_LIMIT} bytes`);
  }
  let layer = ctx.state.layers.get(name);
  if (!layer) {
    layer = { name, versions: new Map(), lastVersion: 0 };
    ctx.state.layers.set(name, layer);
  }
  layer.lastVersion += 1;
  const layerArn = `arn:aws:lambda:${ctx.state.region}:${ctx.state.accountId}:layer:${name}`;
  const version: LayerVersionRecord = {
    layerName: name,
    version: layer.lastVersion,
    layerArn,
    layerVersionArn: `${layerArn}:${layer.lastVersion}`,
    code,
    description: input.Description ?? '',
    compatibleRuntimes: input.CompatibleRuntimes,
    compatibleArchitectures: input.CompatibleArchitectures,
    licenseInfo: input.LicenseInfo,
    createdDate: lambdaTimestamp(),
  };
  layer.versions.set(version.version, version);
  return jsonResponse(201, layerVersionJson(ctx, version, true));
}

function requireLayerVersion(ctx: StandInContext, name: string, versionText: string): LayerVersionRecord {
  checkLayerName(name);
  const version = ctx.state.layers.get(name)?.versions.get(Number(versionText));
  if (!version) throw new AwsError('ResourceNotFoundException', 'The resource you requested does not exist.', 404);
  return version;
}

export function getLayerVersion(ctx: StandInContext, name: string, version: string): ApiResponse {
  return jsonResponse(200, layerVersionJson(ctx, requireLayerVersion(ctx, name, version), true));
}

export function getLayerVersionByArn(ctx: StandInContext, arn: string | null): ApiResponse {
  const match = /:layer:([a-zA-Z0-9_-]+):(\d+)$/.exec(arn ?? '');
  if (!match) throw validationError(`Value '${arn}' at 'arn' failed to satisfy constraint: Member must satisfy regular expression pattern`);
  return getLayerVersion(ctx, match[1]!, match[2]!);
}

export function listLayerVersions(ctx: StandInContext, name: string, query: URLSearchParams): ApiResponse {
  checkLayerName(name);
  const layer: LayerRecord | undefined = ctx.state.layers.get(name);
  const runtime = query.get('CompatibleRuntime');
  const arch = query.get('CompatibleArchitecture');
  // Newest first, as Lambda lists them.
  const all = [...(layer?.versions.values() ?? [])]
    .sort((a, b) => b.version - a.version)
    .filter((v) => runtime === null || (v.compatibleRuntimes ?? []).includes(runtime))
    .filter((v) => arch === null || (v.compatibleArchitectures ?? []).includes(arch))
    .map((v) => layerVersionJson(ctx, v, false));
  const { page, next } = paginate(all, query.get('Marker'), query.get('MaxItems'));
  const body: Record<string, unknown> = { LayerVersions: page };
  if (next !== undefined) body['NextMarker'] = next;
  return jsonResponse(200, body);
}

export function listLayers(ctx: StandInContext, query: URLSearchParams): ApiResponse {
  const all = [...ctx.state.layers.values()]
    .filter((layer) => layer.versions.size > 0)
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((layer) => {
      const latest = [...layer.versions.values()].sort((a, b) => b.version - a.version)[0]!;
      return { LayerName: layer.name, LayerArn: latest.layerArn, LatestMatchingVersion: layerVersionJson(ctx, latest, false) };
    });
  const { page, next } = paginate(all, query.get('Marker'), query.get('MaxItems'));
  const body: Record<string, unknown> = { Layers: page };
  if (next !== undefined) body['NextMarker'] = next;
  return jsonResponse(200, body);
}

/** DeleteLayerVersion is idempotent; version numbers are never reused. */
export function deleteLayerVersion(ctx: StandInContext, name: string, version: string): ApiResponse {
  checkLayerName(name);
  ctx.state.layers.get(name)?.versions.delete(Number(version));
  return emptyResponse(204);
}
