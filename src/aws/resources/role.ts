import {
  CreateRoleCommand, DeleteRoleCommand, DeleteRolePolicyCommand, GetRoleCommand, GetRolePolicyCommand, ListRolePoliciesCommand,
  PutRolePolicyCommand, UpdateAssumeRolePolicyCommand, type Role,
} from '@aws-sdk/client-iam';
import type { StepReporter } from '../../reporter/reporter.js';
import { isNotFound } from '../rules/aws-errors.js';
import type { AwsClients } from './clients.js';
import type { ResourceNames } from '../rules/names.js';
import { writeOptions } from '../rules/write-options.js';

const ROLE_POLICY_NAME = 'pipe-function';

export const TRUST_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
};

/**
 * Least privilege: what AWSLambdaBasicExecutionRole grants, but only on this function's own log group,
 * plus read access to the slim deps archive when there is one. Nothing else.
 */
export function functionPolicy(args: { partition?: string; region: string; account: string; logGroup: string; depsObject?: { bucket: string; key: string } }): object {
  const p = args.partition ?? 'aws';
  const group = `arn:${p}:logs:${args.region}:${args.account}:log-group:${args.logGroup}`;
  const statements: object[] = [
    { Sid: 'CreateOwnLogGroup', Effect: 'Allow', Action: 'logs:CreateLogGroup', Resource: group },
    { Sid: 'WriteOwnLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: `${group}:*` },
  ];
  if (args.depsObject) {
    statements.push({ Sid: 'ReadSlimDeps', Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:${p}:s3:::${args.depsObject.bucket}/${args.depsObject.key}` });
  }
  return { Version: '2012-10-17', Statement: statements };
}

/** IAM returns policy documents URL-encoded; compare them as parsed JSON. */
function samePolicy(encoded: string | undefined, wanted: object): boolean {
  if (!encoded) return false;
  try {
    return JSON.stringify(JSON.parse(decodeURIComponent(encoded))) === JSON.stringify(wanted);
  } catch {
    return false;
  }
}

async function getRole(clients: AwsClients, roleName: string, signal?: AbortSignal): Promise<Role | undefined> {
  try {
    return (await clients.iam.send(new GetRoleCommand({ RoleName: roleName }), { abortSignal: signal })).Role;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Creates or repairs the stage's execution role; writes nothing when it is already as wanted. */
export async function ensureRole(
  clients: AwsClients, names: ResourceNames, policy: object, reporter: StepReporter, signal?: AbortSignal,
): Promise<{ arn: string; changed: boolean }> {
  let role = await getRole(clients, names.roleName, signal);
  let changed = false;
  if (!role) {
    role = (await clients.iam.send(new CreateRoleCommand({
      RoleName: names.roleName,
      AssumeRolePolicyDocument: JSON.stringify(TRUST_POLICY),
      Description: `Execution role of the Lambda function ${names.functionName} (managed by pipe)`,
      Tags: Object.entries(names.tags).map(([Key, Value]) => ({ Key, Value })),
    }), writeOptions(signal))).Role;
    reporter.line(`created role ${names.roleName}`);
    changed = true;
  } else if (!samePolicy(role.AssumeRolePolicyDocument, TRUST_POLICY)) {
    await clients.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: names.roleName, PolicyDocument: JSON.stringify(TRUST_POLICY) }), writeOptions(signal));
    changed = true;
  }
  let current: string | undefined;
  try {
    current = (await clients.iam.send(new GetRolePolicyCommand({ RoleName: names.roleName, PolicyName: ROLE_POLICY_NAME }), { abortSignal: signal })).PolicyDocument;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  if (!samePolicy(current, policy)) {
    await clients.iam.send(new PutRolePolicyCommand({ RoleName: names.roleName, PolicyName: ROLE_POLICY_NAME, PolicyDocument: JSON.stringify(policy) }), writeOptions(signal));
    reporter.line(`role ${names.roleName}: policy set (logs of ${names.logGroup} only)`);
    changed = true;
  }
  return { arn: role!.Arn!, changed };
}

/** Deletes the role pipe created (inline policies first, as IAM requires). */
export async function deleteRole(clients: AwsClients, roleName: string, signal?: AbortSignal): Promise<boolean> {
  const role = await getRole(clients, roleName, signal);
  if (!role) return false;
  const policies = await clients.iam.send(new ListRolePoliciesCommand({ RoleName: roleName }), { abortSignal: signal });
  for (const name of policies.PolicyNames ?? []) {
    try {
      await clients.iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: name }), writeOptions(signal));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  try {
    await clients.iam.send(new DeleteRoleCommand({ RoleName: roleName }), writeOptions(signal));
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  return true;
}

export const isManagedRole = (role: { Tags?: { Key?: string; Value?: string }[] } | undefined): boolean =>
  Boolean(role?.Tags?.some((t) => t.Key === 'pipe:managed' && t.Value === 'true'));
export { getRole };
