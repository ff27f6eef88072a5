import type { ResolvedConfig } from '../../config/resolved.js';
import { sha256 } from '../../util/hash.js';

/** The AWS names pipe uses for one stage; derived, never stored, so every task agrees on them. */
export interface ResourceNames {
  functionName: string;
  roleName: string;
  /** Shared by the app's stages: versions are content-addressed by the deps hash. */
  layerName: string;
  bucket: string;
  /** True when the bucket name comes from the config (pipe did not choose it, so never deletes it). */
  bucketConfigured: boolean;
  /** Every object pipe writes for the stage lives under this prefix. */
  objectPrefix: string;
  logGroup: string;
  /** The EventBridge rule of the keep-warm schedule (default event bus). */
  keepWarmRule: string;
  liveAlias: 'live';
  candidateAlias: 'candidate';
  tags: Record<string, string>;
}

const LIVE_ALIAS = 'live';
const CANDIDATE_ALIAS = 'candidate';

export function resourceNames(config: Pick<ResolvedConfig, 'app' | 'stage' | 'region'> & { aws: Pick<ResolvedConfig['aws'], 'bucket'> }, account: string): ResourceNames {
  const functionName = `${config.app}-${config.stage}`;
  return {
    functionName,
    roleName: `${functionName}-lambda`,
    layerName: `${config.app}-deps`,
    bucket: config.aws.bucket ?? `${config.app}-${config.stage}-${account}-${config.region}`,
    bucketConfigured: config.aws.bucket !== undefined,
    objectPrefix: `${config.app}/${config.stage}/`,
    logGroup: `/aws/lambda/${functionName}`,
    keepWarmRule: keepWarmRuleName(functionName),
    liveAlias: LIVE_ALIAS,
    candidateAlias: CANDIDATE_ALIAS,
    tags: managedTags(config),
  };
}

/** Rule names are at most 64 characters; a longer one keeps its start and a hash of the whole. */
function keepWarmRuleName(functionName: string): string {
  const name = `${functionName}-keep-warm`;
  return name.length <= 64 ? name : `${name.slice(0, 55)}-${sha256(name).slice(0, 8)}`;
}

function managedTags(config: Pick<ResolvedConfig, 'app' | 'stage'>): Record<string, string> {
  return { 'pipe:project': config.app, 'pipe:stage': config.stage, 'pipe:managed': 'true' };
}

/** Object key of a content-addressed upload: the same bytes always land on the same key. */
export function objectKey(names: Pick<ResourceNames, 'objectPrefix'>, kind: 'function' | 'layer' | 'deps', sha256: string): string {
  return `${names.objectPrefix}${kind}/${sha256}.zip`;
}

/** The layer version description carries the deps hash, so a later deploy can find and reuse it. */
export function layerDescription(depsHash: string): string {
  return `pipe deps ${depsHash}`;
}

export function depsHashOfLayerDescription(description: string | undefined): string | undefined {
  const match = /^pipe deps ([0-9a-f]{16,64})$/.exec(description ?? '');
  return match?.[1];
}
