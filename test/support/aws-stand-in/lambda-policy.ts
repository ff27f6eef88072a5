import { randomUUID } from 'node:crypto';
import { AwsError, invalidParameter, validationError } from './errors.js';
import { emptyResponse, jsonResponse, type ApiResponse, type StandInContext } from './context.js';
import { assertRevision, functionArn, requireFunction, resolveVersion, type FunctionRef } from './lambda-settings.js';
import type { FunctionRecord, PolicyStatement } from './types.js';

interface AddPermissionInput {
  StatementId?: string;
  Action?: string;
  Principal?: string;
  SourceArn?: string;
  SourceAccount?: string;
  EventSourceToken?: string;
  PrincipalOrgID?: string;
  FunctionUrlAuthType?: 'NONE' | 'AWS_IAM';
  InvokedViaFunctionUrl?: boolean;
  RevisionId?: string;
}

/** Policies are per qualifier: '' is the unqualified function. $LATEST cannot carry one. */
function policyKey(ctx: StandInContext, fn: FunctionRecord, qualifier: string | undefined): string {
  if (qualifier === undefined) return '';
  if (qualifier === '$LATEST') throw invalidParameter('We currently do not support adding policies for $LATEST.');
  resolveVersion(ctx, fn, qualifier);
  return qualifier;
}

function principalJson(principal: string): PolicyStatement['Principal'] {
  if (principal === '*') return '*';
  if (/^\d{12}$/.test(principal)) return { AWS: `arn:aws:iam::${principal}:root` };
  if (principal.startsWith('arn:')) return { AWS: principal };
  return { Service: principal };
}

export function addPermission(ctx: StandInContext, ref: FunctionRef, input: AddPermissionInput): ApiResponse {
  const fn = requireFunction(ctx, ref);
  const key = policyKey(ctx, fn, ref.qualifier);
  const sid = input.StatementId ?? '';
  if (!/^[a-zA-Z0-9-_.]{1,100}$/.test(sid)) {
    throw validationError(`Value '${sid}' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_.]+)`);
  }
  if (!input.Action || !/^(lambda:[*]|lambda:[a-zA-Z]+|[*])$/.test(input.Action)) {
    throw validationError(`Value '${input.Action}' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])`);
  }
  if (!input.Principal) throw validationError(`Value null at 'principal' failed to satisfy constraint: Member must not be null`);
  if (input.FunctionUrlAuthType !== undefined && !['lambda:InvokeFunctionUrl', 'lambda:*', '*'].includes(input.Action)) {
    throw invalidParameter('The FunctionUrlAuthType parameter can only be used with the lambda:InvokeFunctionUrl action.');
  }
  if (input.InvokedViaFunctionUrl !== undefined && input.Action !== 'lambda:InvokeFunction') {
    throw invalidParameter('The InvokedViaFunctionUrl parameter can only be used with the lambda:InvokeFunction action.');
  }
  const statements = fn.policies.get(key) ?? [];
  if (input.RevisionId !== undefined) assertRevision(fn.policyRevisions.get(key) ?? '', input.RevisionId);
  if (statements.some((statement) => statement.Sid === sid)) {
    throw new AwsError(
      'ResourceConflictException',
      `The statement id (${sid}) provided already exists. Please provide a new statement id, or remove the existing statement.`,
      409,
    );
  }
  const statement: PolicyStatement = {
    Sid: sid,
    Effect: 'Allow',
    Principal: principalJson(input.Principal),
    Action: input.Action,
    Resource: functionArn(ctx, fn.name, key === '' ? undefined : key),
  };
  const condition: Record<string, Record<string, string>> = {};
  const equals: Record<string, string> = {};
  if (input.FunctionUrlAuthType !== undefined) equals['lambda:FunctionUrlAuthType'] = input.FunctionUrlAuthType;
  if (input.SourceAccount !== undefined) equals['AWS:SourceAccount'] = input.SourceAccount;
  if (input.PrincipalOrgID !== undefined) equals['aws:PrincipalOrgID'] = input.PrincipalOrgID;
  if (input.EventSourceToken !== undefined) equals['lambda:EventSourceToken'] = input.EventSourceToken;
  if (Object.keys(equals).length > 0) condition['StringEquals'] = equals;
  if (input.SourceArn !== undefined) condition['ArnLike'] = { 'AWS:SourceArn': input.SourceArn };
  if (input.InvokedViaFunctionUrl !== undefined) {
    condition['Bool'] = { 'lambda:InvokedViaFunctionUrl': String(input.InvokedViaFunctionUrl) };
  }
  if (Object.keys(condition).length > 0) statement.Condition = condition;
  fn.policies.set(key, [...statements, statement]);
  fn.policyRevisions.set(key, randomUUID());
  return jsonResponse(201, { Statement: JSON.stringify(statement) });
}

export function removePermission(ctx: StandInContext, ref: FunctionRef, sid: string, revisionId: string | null): ApiResponse {
  const fn = requireFunction(ctx, ref);
  const key = policyKey(ctx, fn, ref.qualifier);
  const statements = fn.policies.get(key) ?? [];
  if (revisionId !== null) assertRevision(fn.policyRevisions.get(key) ?? '', revisionId);
  if (!statements.some((statement) => statement.Sid === sid)) {
    throw new AwsError('ResourceNotFoundException', `Statement ${sid} is not found in resource policy.`, 404);
  }
  const remaining = statements.filter((statement) => statement.Sid !== sid);
  if (remaining.length === 0) fn.policies.delete(key);
  else fn.policies.set(key, remaining);
  fn.policyRevisions.set(key, randomUUID());
  return emptyResponse(204);
}

export function getPolicy(ctx: StandInContext, ref: FunctionRef): ApiResponse {
  const fn = requireFunction(ctx, ref);
  const key = policyKey(ctx, fn, ref.qualifier);
  const statements = fn.policies.get(key);
  if (!statements || statements.length === 0) {
    throw new AwsError('ResourceNotFoundException', 'The resource you requested does not exist.', 404);
  }
  return jsonResponse(200, {
    Policy: JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: statements }),
    RevisionId: fn.policyRevisions.get(key),
  });
}

/**
 * Whether a public (AuthType NONE) Function URL may be invoked: since October 2025 the policy must
 * allow everyone both lambda:InvokeFunctionUrl (for auth type NONE) and lambda:InvokeFunction.
 */
export function allowsPublicUrlInvoke(fn: FunctionRecord, qualifier: string): boolean {
  const statements = fn.policies.get(qualifier === '$LATEST' ? '' : qualifier) ?? [];
  const isPublic = (s: PolicyStatement) => s.Effect === 'Allow' && s.Principal === '*';
  const covers = (s: PolicyStatement, action: string) => s.Action === action || s.Action === 'lambda:*' || s.Action === '*';
  const urlAllowed = statements.some(
    (s) =>
      isPublic(s) &&
      covers(s, 'lambda:InvokeFunctionUrl') &&
      s.Condition?.['StringEquals']?.['lambda:FunctionUrlAuthType'] === 'NONE',
  );
  const invokeAllowed = statements.some(
    (s) =>
      isPublic(s) &&
      covers(s, 'lambda:InvokeFunction') &&
      s.Condition?.['StringEquals']?.['lambda:FunctionUrlAuthType'] === undefined &&
      s.Condition?.['Bool']?.['lambda:InvokedViaFunctionUrl'] !== 'false',
  );
  return urlAllowed && invokeAllowed;
}
