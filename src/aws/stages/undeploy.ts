import { DeleteLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DeleteAliasCommand, DeleteFunctionCommand, DeleteFunctionUrlConfigCommand, RemovePermissionCommand } from '@aws-sdk/client-lambda';
import { deleteBucketIfEmpty, deletePrefix } from '../resources/bucket.js';
import { isNotFound } from '../rules/aws-errors.js';
import { checkCredentials } from '../resources/credentials.js';
import { getFunction } from '../resources/function.js';
import { managedKeepWarmRule, removeKeepWarm } from '../resources/keep-warm.js';
import { PUBLIC_INVOKE_SID, PUBLIC_URL_SID } from '../resources/function-url.js';
import { deleteLayerVersion, listLayerVersions } from '../resources/layer.js';
import { depsHashOfLayerDescription, resourceNames } from '../rules/names.js';
import type { StageRunOptions } from './deploy.js';
import { retryConflicts } from '../resources/retry.js';
import { deleteRole, getRole, isManagedRole } from '../resources/role.js';
import { writeOptions } from '../rules/write-options.js';

/** Runs a delete, treating "already gone" as done: that is what makes undeploy resumable. */
async function gone(fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/**
 * Removes what pipe created for the stage, in dependency order. Every step tolerates a resource that
 * is already gone, so it is idempotent and finishes an earlier, interrupted undeploy. It never deletes
 * a role given in the config, a configured bucket, or a layer version another stage still uses.
 */
export async function undeployStage(options: StageRunOptions & { removeLogs: boolean }): Promise<{ removed: string[] }> {
  const { config, clients, reporter, signal } = options;
  const identity = await checkCredentials(clients, signal);
  const names = resourceNames(config, identity.account);
  const fn = names.functionName;
  const removed: string[] = [];
  const note = (what: string) => {
    removed.push(what);
    reporter.line(`removed ${what}`);
  };
  // Each delete is retried while the function is busy with an update (409).
  const send = (command: DeleteFunctionUrlConfigCommand | RemovePermissionCommand | DeleteAliasCommand | DeleteFunctionCommand) =>
    retryConflicts(clients, () => clients.lambda.send(command as DeleteFunctionCommand, writeOptions(signal)), signal);

  // The schedule first: a rule left behind would keep invoking (and failing on) a function that is gone.
  const rule = await managedKeepWarmRule(clients, names, signal);
  if (rule === 'managed' && (await removeKeepWarm(clients, names, signal))) note(`keep-warm schedule (rule ${names.keepWarmRule})`);
  if (rule === 'foreign') reporter.line(`kept EventBridge rule ${names.keepWarmRule}: it is not tagged pipe:managed`, 'warn');

  const existing = await getFunction(clients, fn, signal);
  if (existing && existing.Tags?.['pipe:managed'] !== 'true') {
    reporter.line(`kept function ${fn}: it was not created by pipe`, 'warn');
  } else if (existing) {
    for (const alias of [names.liveAlias, names.candidateAlias]) {
      if (await gone(() => send(new DeleteFunctionUrlConfigCommand({ FunctionName: fn, Qualifier: alias })))) note(`Function URL of ${fn}:${alias}`);
      for (const sid of [PUBLIC_URL_SID, PUBLIC_INVOKE_SID]) {
        if (await gone(() => send(new RemovePermissionCommand({ FunctionName: fn, Qualifier: alias, StatementId: sid })))) note(`permission ${sid} of ${fn}:${alias}`);
      }
      if (await gone(() => send(new DeleteAliasCommand({ FunctionName: fn, Name: alias })))) note(`alias ${alias}`);
    }
    // Deleting the function deletes all its published versions with it.
    if (await gone(() => send(new DeleteFunctionCommand({ FunctionName: fn })))) note(`function ${fn} and its versions`);
  }

  const inUse = new Set<string>();
  for (const stage of config.stages.filter((s) => s !== config.stage)) {
    const other = await getFunction(clients, `${config.app}-${stage}`, signal);
    for (const layer of other?.Configuration?.Layers ?? []) if (layer.Arn) inUse.add(layer.Arn);
  }
  for (const version of await listLayerVersions(clients, names.layerName, signal)) {
    if (!depsHashOfLayerDescription(version.Description) || !version.LayerVersionArn || version.Version === undefined) continue;
    if (inUse.has(version.LayerVersionArn)) {
      reporter.line(`kept layer ${names.layerName}:${version.Version}: another stage uses it`);
      continue;
    }
    if (await gone(() => deleteLayerVersion(clients, names.layerName, version.Version!, signal))) note(`layer ${names.layerName}:${version.Version}`);
  }

  if (!config.aws.roleArn) {
    const role = await getRole(clients, names.roleName, signal);
    if (role && isManagedRole(role)) {
      if (await deleteRole(clients, names.roleName, signal)) note(`role ${names.roleName}`);
    } else if (role) {
      reporter.line(`kept role ${names.roleName}: it is not tagged pipe:managed`, 'warn');
    }
  }

  const objects = await deletePrefix(clients, names.bucket, names.objectPrefix, signal).catch((error: unknown) => {
    if (isNotFound(error)) return 0;
    throw error;
  });
  if (objects) note(`${objects} object(s) under s3://${names.bucket}/${names.objectPrefix}`);
  // The default bucket name is pipe's own (app, stage, account, region); a configured one is the user's.
  if (!names.bucketConfigured) {
    const result = await deleteBucketIfEmpty(clients, names.bucket, signal);
    if (result === 'deleted') note(`bucket ${names.bucket}`);
    if (result === 'not-empty') reporter.line(`kept bucket ${names.bucket}: it holds objects pipe did not write`, 'warn');
  }

  if (options.removeLogs) {
    if (await gone(() => clients.logs.send(new DeleteLogGroupCommand({ logGroupName: names.logGroup }), writeOptions(signal)))) note(`log group ${names.logGroup}`);
  } else {
    reporter.line(`kept log group ${names.logGroup} (pass --remove-logs to delete it)`);
  }
  reporter.line(removed.length ? `undeployed stage ${config.stage}: ${removed.length} resource(s) removed` : `nothing to remove for stage ${config.stage}`);
  return { removed };
}
