import { CreateLogGroupCommand, DescribeLogGroupsCommand, PutRetentionPolicyCommand, type LogGroup } from '@aws-sdk/client-cloudwatch-logs';
import type { StepReporter } from '../../reporter/reporter.js';
import { errorName } from '../rules/aws-errors.js';
import type { AwsClients } from './clients.js';
import type { ResourceNames } from '../rules/names.js';
import { writeOptions } from '../rules/write-options.js';

async function describeLogGroup(clients: AwsClients, name: string, signal?: AbortSignal): Promise<LogGroup | undefined> {
  let token: string | undefined;
  do {
    const page = await clients.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name, nextToken: token }), { abortSignal: signal });
    const found = page.logGroups?.find((g) => g.logGroupName === name);
    if (found) return found;
    token = page.nextToken;
  } while (token);
  return undefined;
}

/**
 * The function's log group, created by pipe before the function first runs (Lambda would create it
 * itself, without a retention: logs kept forever by accident) and kept at `retentionDays`. Reads first;
 * writes only a missing group or a retention that differs.
 */
export async function ensureLogGroup(
  clients: AwsClients, names: ResourceNames, retentionDays: number, reporter: StepReporter, signal?: AbortSignal,
): Promise<{ changed: boolean }> {
  const group = await describeLogGroup(clients, names.logGroup, signal);
  let changed = false;
  if (!group) {
    try {
      await clients.logs.send(new CreateLogGroupCommand({ logGroupName: names.logGroup, tags: names.tags }), writeOptions(signal));
      reporter.line(`created log group ${names.logGroup}`);
    } catch (error) {
      // The function logged before us (a deploy from an older pipe, or an invocation in between).
      if (errorName(error) !== 'ResourceAlreadyExistsException') throw error;
    }
    changed = true;
  }
  if (group?.retentionInDays !== retentionDays) {
    await clients.logs.send(new PutRetentionPolicyCommand({ logGroupName: names.logGroup, retentionInDays: retentionDays }), writeOptions(signal));
    const before = group ? ` (was ${group.retentionInDays === undefined ? 'never expire' : `${group.retentionInDays} days`})` : '';
    reporter.line(`log group ${names.logGroup}: logs kept ${retentionDays} days${before}`);
    changed = true;
  }
  return { changed };
}
