import { readLocalPackage } from '../../packaging/package-manifest.js';
import { hexOfCodeSha256 } from '../rules/code-sha256.js';
import { checkCredentials } from '../resources/credentials.js';
import { getFunction } from '../resources/function.js';
import { getAlias, getUrl, weightedVersion } from '../resources/function-url.js';
import { resourceNames } from '../rules/names.js';
import type { StageRunOptions } from './deploy.js';
import { getRole } from '../resources/role.js';
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';

export interface StageStatus {
  functionName: string;
  exists: boolean;
  state?: string;
  url?: string;
  liveVersion?: string;
  /** A gradual rollout under way or interrupted: the version taking a share of live's traffic, and the share (0 to 1). */
  rollingOut?: { version: string; weight: number };
  /** Hex sha256 of the code the live alias runs. */
  deployedSha256?: string;
  /** Hex sha256 of the local function.zip, when a package exists. */
  localSha256?: string;
  upToDate?: boolean;
  layers: string[];
  role?: string;
}

/** What exists for the stage and whether the live code is the local package. Reads only. */
export async function stageStatus(options: StageRunOptions): Promise<StageStatus> {
  const { config, clients, signal } = options;
  const identity = await checkCredentials(clients, signal);
  const names = resourceNames(config, identity.account);
  const local = await readLocalPackage(config).then((p) => p.manifest.function.sha256, () => undefined);
  const fn = await getFunction(clients, names.functionName, signal);
  const status: StageStatus = { functionName: names.functionName, exists: Boolean(fn?.Configuration), localSha256: local, layers: [] };
  if (!fn?.Configuration) return status;
  status.state = `${fn.Configuration.State ?? '?'}/${fn.Configuration.LastUpdateStatus ?? '?'}`;
  status.layers = (fn.Configuration.Layers ?? []).flatMap((l) => (l.Arn ? [l.Arn] : []));
  status.role = fn.Configuration.Role ?? (await getRole(clients, names.roleName, signal))?.Arn;
  const live = await getAlias(clients, names.functionName, names.liveAlias, signal);
  status.liveVersion = live?.FunctionVersion;
  const rolling = weightedVersion(live);
  if (rolling) status.rollingOut = rolling;
  if (status.liveVersion) {
    const live = await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: names.functionName, Qualifier: status.liveVersion }), { abortSignal: signal });
    status.deployedSha256 = live.CodeSha256 ? hexOfCodeSha256(live.CodeSha256) : undefined;
    status.url = (await getUrl(clients, names.functionName, names.liveAlias, signal))?.url;
  }
  if (status.deployedSha256 && local) status.upToDate = status.deployedSha256 === local;
  return status;
}

export function describeStatus(s: StageStatus, stage: string): string[] {
  if (!s.exists) return [`stage ${stage}: not deployed (no function ${s.functionName})`];
  const code = s.deployedSha256 ? s.deployedSha256.slice(0, 12) : 'none';
  const local = s.localSha256 ? s.localSha256.slice(0, 12) : 'no local package';
  return [
    `function  ${s.functionName} (${s.state})`,
    `url       ${s.url ?? 'none'}`,
    `live      ${s.liveVersion ? `version ${s.liveVersion}` : 'no live alias'}`,
    ...(s.rollingOut ? [rolloutWords(s.liveVersion!, s.rollingOut)] : []),
    `code      deployed ${code}, local ${local}${s.upToDate === undefined ? '' : s.upToDate ? ' (up to date)' : ' (differs: run pipe update)'}`,
    `layers    ${s.layers.length ? s.layers.join(', ') : 'none'}`,
    `role      ${s.role ?? 'none'}`,
  ];
}

/** An alias with a weight, in words: what answers live's requests and what to do about it. */
export function rolloutWords(live: string, rolling: { version: string; weight: number }): string {
  const share = Math.round(rolling.weight * 1000) / 10;
  return `rollout   version ${rolling.version} answers ${share}% of live's requests and version ${live} the other ${Math.round((100 - share) * 10) / 10}%: ` +
    'a gradual rollout that did not finish. `npx pipe deploy` resumes it; `npx pipe rollback` sends all traffic back to version ' + live;
}
