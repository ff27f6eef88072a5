import { gitCommit } from '../../util/git-commit.js';
import { PipeError } from '../../errors.js';
import { AUDIT_LOG_ENV } from '../rules/audit-env.js';
import { ensureBucket } from '../resources/bucket.js';
import { ensureFunctionCode, getFunction } from '../resources/function.js';
import { corsOf } from '../resources/function-url.js';
import { findLayerVersion, listLayerVersions } from '../resources/layer.js';
import { releaseLatest } from './release.js';
import { keepVersions, prepareStage, SLIM_ENV, type DeployResult, type StageRunOptions } from './deploy.js';
import { waitFunctionReady } from '../resources/wait-function.js';

/**
 * The fast path after a handler or model change: pushes function.zip only (kilobytes when the deps
 * live in the layer), publishes, smoke-tests and moves `live`. Refuses when there is no deployment or
 * the runtime deps changed (those need a full deploy).
 */
export async function updateStageCode(options: StageRunOptions): Promise<DeployResult> {
  const { config, clients, reporter, signal } = options;
  const { pkg, strategy, example, names } = await prepareStage(options);
  const existing = await getFunction(clients, names.functionName, signal);
  if (!existing?.Configuration) {
    throw new PipeError('NO_DEPLOYMENT', `Stage "${config.stage}" has no deployment (no function ${names.functionName} in ${config.region})`, {
      hint: `Run \`pipe deploy${config.stage === 'dev' ? '' : ` --stage ${config.stage}`}\` first; update only pushes code to an existing deployment.`,
    });
  }
  const { manifest } = pkg;
  // update ships code only; the function's settings (the audit mode among them) are deploy's.
  const deployedAudit = existing.Configuration.Environment?.Variables?.[AUDIT_LOG_ENV];
  if (deployedAudit !== config.audit.log) {
    reporter.line(`audit.log is "${config.audit.log}" in the config but "${deployedAudit ?? 'unset'}" deployed: run \`pipe deploy\` to apply it`, 'warn');
  }
  const deployedLayers = (existing.Configuration.Layers ?? []).map((l) => l.Arn);
  const depsChanged = async (): Promise<boolean> => {
    switch (strategy.mode) {
      case 'function-only':
        return deployedLayers.length > 0;
      case 'slim':
        return existing.Configuration!.Environment?.Variables?.[SLIM_ENV.sha256] !== manifest.layer!.sha256;
      case 'layer': {
        const layers = await listLayerVersions(clients, names.layerName, signal);
        const version = findLayerVersion(layers, manifest.layer!.depsHash, manifest.runtime, manifest.architecture);
        return !version?.LayerVersionArn || !deployedLayers.includes(version.LayerVersionArn);
      }
      default: {
        const never: never = strategy;
        return never;
      }
    }
  };
  if (await depsChanged()) {
    throw new PipeError('DEPS_CHANGED', 'The runtime dependencies changed since the last deploy; update only pushes code', { hint: 'Run `pipe deploy` to publish the new dependencies.' });
  }
  if (strategy.functionUpload === 's3') await ensureBucket(clients, names, reporter, signal);
  const current = await waitFunctionReady(clients, names.functionName, undefined, signal);
  await ensureFunctionCode(clients, { names, archive: manifest.function, file: pkg.functionZip, route: strategy.functionUpload, current, architecture: manifest.architecture }, reporter, signal);
  const note = { model: pkg.manifest.model, commit: await gitCommit(config.root) };
  const release = await releaseLatest(clients, { names, auth: config.url.auth, cors: corsOf(config.url.cors), example, note, release: config.release, reporter, signal });
  const pruned = await keepVersions(clients, options, names);
  reporter.line(release.released ? `updated: version ${release.version} is live` : `no changes: version ${release.version} is live and up to date`);
  reporter.line(clients.meter.summary());
  return { url: release.url, version: release.version, changed: release.released, ...(release.rollout ? { rollout: release.rollout } : {}), removed: pruned };
}
