import {
  DeleteRuleCommand, DescribeRuleCommand, ListTagsForResourceCommand, ListTargetsByRuleCommand, PutRuleCommand, PutTargetsCommand, RemoveTargetsCommand,
  type DescribeRuleCommandOutput,
} from '@aws-sdk/client-eventbridge';
import { AddPermissionCommand, RemovePermissionCommand } from '@aws-sdk/client-lambda';
import { scheduleExpression } from '../../config/rate.js';
import { PipeError } from '../../errors.js';
import type { StepReporter } from '../../reporter/reporter.js';
import { isNotFound } from '../rules/aws-errors.js';
import type { AwsClients } from './clients.js';
import { policyStatements } from './function-url.js';
import type { ResourceNames } from '../rules/names.js';
import { retryConflicts } from './retry.js';
import { writeOptions } from '../rules/write-options.js';

/** The event the schedule sends: the function answers it without predicting or logging a decision. */
const WARM_UP_EVENT = { pipe: 'warm-up' } as const;
const WARM_UP_INPUT = JSON.stringify(WARM_UP_EVENT);
const KEEP_WARM_TARGET_ID = 'pipe-keep-warm';
/** Statement id of the permission letting the rule (and only it) invoke the live alias. */
const KEEP_WARM_SID = 'pipe-keep-warm';

async function describeRule(clients: AwsClients, name: string, signal?: AbortSignal): Promise<DescribeRuleCommandOutput | undefined> {
  try {
    return await clients.events.send(new DescribeRuleCommand({ Name: name }), { abortSignal: signal });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

async function isManagedRule(clients: AwsClients, arn: string, signal?: AbortSignal): Promise<boolean> {
  const { Tags } = await clients.events.send(new ListTagsForResourceCommand({ ResourceARN: arn }), { abortSignal: signal });
  return (Tags ?? []).some((t) => t.Key === 'pipe:managed' && t.Value === 'true');
}

const description = (names: ResourceNames) => `Keeps ${names.functionName}:${names.liveAlias} warm (managed by pipe)`;

export interface KeepWarmArgs {
  names: ResourceNames;
  /** EventBridge rate such as '5 minutes'; undefined: no schedule. */
  rate: string | undefined;
  /** ARN of the live alias, the rule's target. */
  aliasArn: string;
  reporter: StepReporter;
  signal?: AbortSignal;
}

/**
 * The keep-warm schedule: an EventBridge rule on the default bus whose one target is the live alias,
 * with the warm-up event as its input, and a resource-policy statement that lets events.amazonaws.com
 * invoke the alias from this rule's ARN only (no IAM role to manage). Reads first; writes only what
 * differs. With no rate, removes a schedule pipe created earlier.
 */
export async function ensureKeepWarm(clients: AwsClients, args: KeepWarmArgs): Promise<{ changed: boolean }> {
  const { names, reporter, signal } = args;
  const rule = await describeRule(clients, names.keepWarmRule, signal);
  if (rule?.Arn && !(await isManagedRule(clients, rule.Arn, signal))) {
    throw new PipeError('RULE_NOT_MANAGED', `An EventBridge rule named ${names.keepWarmRule} already exists and was not created by pipe`, {
      hint: 'Delete or rename it, or deploy under another app or stage name.',
    });
  }
  if (args.rate === undefined) {
    if (!rule) return { changed: false };
    await removeKeepWarm(clients, names, signal);
    reporter.line(`keep-warm schedule removed (rule ${names.keepWarmRule})`);
    return { changed: true };
  }

  let changed = false;
  const expression = scheduleExpression(args.rate);
  let ruleArn = rule?.Arn;
  if (!rule || rule.ScheduleExpression !== expression || rule.State !== 'ENABLED' || rule.Description !== description(names)) {
    // PutRule replaces the whole rule: every field is sent. Tags only apply when it is created.
    const put = await clients.events.send(new PutRuleCommand({
      Name: names.keepWarmRule,
      ScheduleExpression: expression,
      State: 'ENABLED',
      Description: description(names),
      Tags: Object.entries(names.tags).map(([Key, Value]) => ({ Key, Value })),
    }), writeOptions(signal));
    ruleArn = put.RuleArn;
    reporter.line(rule ? `keep-warm schedule: ${rule.ScheduleExpression} -> ${expression}` : `keep-warm schedule created: ${expression} -> ${names.functionName}:${names.liveAlias}`);
    changed = true;
  }

  const { Targets: targets = [] } = await clients.events.send(new ListTargetsByRuleCommand({ Rule: names.keepWarmRule }), { abortSignal: signal });
  const ours = targets.find((t) => t.Id === KEEP_WARM_TARGET_ID);
  const strays = targets.filter((t) => t.Id !== KEEP_WARM_TARGET_ID).map((t) => t.Id!);
  if (strays.length) {
    await clients.events.send(new RemoveTargetsCommand({ Rule: names.keepWarmRule, Ids: strays }), writeOptions(signal));
    changed = true;
  }
  if (!ours || ours.Arn !== args.aliasArn || ours.Input !== WARM_UP_INPUT) {
    await clients.events.send(new PutTargetsCommand({
      Rule: names.keepWarmRule,
      Targets: [{ Id: KEEP_WARM_TARGET_ID, Arn: args.aliasArn, Input: WARM_UP_INPUT }],
    }), writeOptions(signal));
    changed = true;
  }

  const statements = await policyStatements(clients, names.functionName, names.liveAlias, signal);
  const grant = statements.find((s) => s.Sid === KEEP_WARM_SID);
  const grantsRule = grant?.Condition?.['ArnLike']?.['AWS:SourceArn'] === ruleArn;
  if (!grantsRule) {
    const fn = names.functionName;
    if (grant) {
      await retryConflicts(clients, () => clients.lambda.send(new RemovePermissionCommand({ FunctionName: fn, Qualifier: names.liveAlias, StatementId: KEEP_WARM_SID }), writeOptions(signal)), signal);
    }
    await retryConflicts(clients, () => clients.lambda.send(new AddPermissionCommand({
      FunctionName: fn,
      Qualifier: names.liveAlias,
      StatementId: KEEP_WARM_SID,
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      SourceArn: ruleArn,
    }), writeOptions(signal)), signal);
    changed = true;
  }
  return { changed };
}

/**
 * Removes the schedule: targets first (EventBridge refuses to delete a rule that has some), then the
 * rule, then the alias's permission. Each step tolerates what is already gone. True when a rule existed.
 */
export async function removeKeepWarm(clients: AwsClients, names: ResourceNames, signal?: AbortSignal): Promise<boolean> {
  let existed = false;
  try {
    const { Targets: targets = [] } = await clients.events.send(new ListTargetsByRuleCommand({ Rule: names.keepWarmRule }), { abortSignal: signal });
    existed = true;
    if (targets.length) {
      await clients.events.send(new RemoveTargetsCommand({ Rule: names.keepWarmRule, Ids: targets.map((t) => t.Id!) }), writeOptions(signal));
    }
    await clients.events.send(new DeleteRuleCommand({ Name: names.keepWarmRule }), writeOptions(signal));
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  try {
    await retryConflicts(clients, () => clients.lambda.send(new RemovePermissionCommand({
      FunctionName: names.functionName, Qualifier: names.liveAlias, StatementId: KEEP_WARM_SID,
    }), writeOptions(signal)), signal);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  return existed;
}

/** Whether the stage has a keep-warm rule pipe created (undeploy removes only those). */
export async function managedKeepWarmRule(clients: AwsClients, names: ResourceNames, signal?: AbortSignal): Promise<'managed' | 'foreign' | 'none'> {
  const rule = await describeRule(clients, names.keepWarmRule, signal);
  if (!rule?.Arn) return 'none';
  return (await isManagedRule(clients, rule.Arn, signal)) ? 'managed' : 'foreign';
}
