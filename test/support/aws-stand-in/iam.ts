import { randomBytes } from 'node:crypto';
import { AwsError } from './errors.js';
import type { ApiRequest, ApiResponse, RoutedCall, StandInContext } from './context.js';
import { memberList, memberTags, queryResponse, required, type XmlValue } from './query-protocol.js';
import type { RoleRecord } from './types.js';

/** AWS managed policies a deploy tool plausibly attaches; any other aws-managed ARN does not exist. */
const MANAGED_POLICIES = new Set([
  'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
  'arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole',
  'arn:aws:iam::aws:policy/service-role/AWSLambdaRole',
  'arn:aws:iam::aws:policy/AWSLambdaExecute',
  'arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess',
  'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
  'arn:aws:iam::aws:policy/CloudWatchLogsFullAccess',
]);

const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

type IamHandler = (ctx: StandInContext, params: URLSearchParams) => ApiResponse;

const HANDLERS: Record<string, IamHandler> = {
  CreateRole: createRole,
  GetRole: (ctx, p) => queryResponse('iam', 'GetRole', { Role: roleXml(requireRole(ctx, p)) }),
  DeleteRole: deleteRole,
  UpdateAssumeRolePolicy: (ctx, p) => {
    const role = requireRole(ctx, p);
    role.assumeRolePolicyDocument = checkPolicy(required(p, 'PolicyDocument'), true);
    return queryResponse('iam', 'UpdateAssumeRolePolicy');
  },
  PutRolePolicy: (ctx, p) => {
    const role = requireRole(ctx, p);
    const name = required(p, 'PolicyName');
    role.inlinePolicies.set(name, checkPolicy(required(p, 'PolicyDocument'), false));
    return queryResponse('iam', 'PutRolePolicy');
  },
  GetRolePolicy: (ctx, p) => {
    const role = requireRole(ctx, p);
    const name = required(p, 'PolicyName');
    const document = role.inlinePolicies.get(name);
    if (document === undefined) throw noSuchEntity(`The role policy with name ${name} cannot be found.`);
    // IAM returns policy documents URL-encoded.
    return queryResponse('iam', 'GetRolePolicy', { RoleName: role.name, PolicyName: name, PolicyDocument: encodeURIComponent(document) });
  },
  DeleteRolePolicy: (ctx, p) => {
    const role = requireRole(ctx, p);
    const name = required(p, 'PolicyName');
    if (!role.inlinePolicies.delete(name)) throw noSuchEntity(`The role policy with name ${name} cannot be found.`);
    return queryResponse('iam', 'DeleteRolePolicy');
  },
  ListRolePolicies: (ctx, p) =>
    queryResponse('iam', 'ListRolePolicies', { PolicyNames: [...requireRole(ctx, p).inlinePolicies.keys()].sort(), IsTruncated: false }),
  AttachRolePolicy: (ctx, p) => {
    const role = requireRole(ctx, p);
    const arn = required(p, 'PolicyArn');
    checkPolicyArn(arn);
    if (!MANAGED_POLICIES.has(arn)) throw noSuchEntity(`Policy ${arn} does not exist or is not attachable.`);
    role.attachedPolicies.add(arn);
    return queryResponse('iam', 'AttachRolePolicy');
  },
  DetachRolePolicy: (ctx, p) => {
    const role = requireRole(ctx, p);
    const arn = required(p, 'PolicyArn');
    checkPolicyArn(arn);
    if (!role.attachedPolicies.delete(arn)) throw noSuchEntity(`Policy ${arn} was not found.`);
    return queryResponse('iam', 'DetachRolePolicy');
  },
  ListAttachedRolePolicies: (ctx, p) =>
    queryResponse('iam', 'ListAttachedRolePolicies', {
      AttachedPolicies: [...requireRole(ctx, p).attachedPolicies].sort().map((arn) => ({
        PolicyName: arn.split('/').pop()!,
        PolicyArn: arn,
      })),
      IsTruncated: false,
    }),
  TagRole: (ctx, p) => {
    const role = requireRole(ctx, p);
    for (const tag of checkTags(memberTags(p))) {
      role.tags = [...role.tags.filter((t) => t.Key !== tag.Key), tag];
    }
    return queryResponse('iam', 'TagRole');
  },
  UntagRole: (ctx, p) => {
    const role = requireRole(ctx, p);
    const keys = new Set(memberList(p, 'TagKeys'));
    role.tags = role.tags.filter((tag) => !keys.has(tag.Key));
    return queryResponse('iam', 'UntagRole');
  },
  ListRoleTags: (ctx, p) => queryResponse('iam', 'ListRoleTags', { Tags: requireRole(ctx, p).tags, IsTruncated: false }),
};

/** Matches an IAM query request (form-encoded POST) to its action. */
export function routeIam(ctx: StandInContext, req: ApiRequest): RoutedCall {
  const params = new URLSearchParams(req.body.toString('utf8'));
  const action = params.get('Action') ?? '';
  const roleName = params.get('RoleName');
  return {
    service: 'iam',
    action,
    resource: () => roleName === null ? '*' : `arn:aws:iam::${ctx.state.accountId}:role/${roleName}`,
    run: async () => {
      const handler = HANDLERS[action];
      if (!handler) throw new AwsError('InvalidAction', `Could not find operation ${action} for version 2010-05-08`, 400);
      return handler(ctx, params);
    },
  };
}

function noSuchEntity(message: string): AwsError {
  return new AwsError('NoSuchEntity', message, 404);
}

function requireRole(ctx: StandInContext, params: URLSearchParams): RoleRecord {
  const name = required(params, 'RoleName');
  const role = ctx.state.roles.get(name);
  if (!role) throw noSuchEntity(`The role with name ${name} cannot be found.`);
  return role;
}

function checkPolicy(document: string, trustPolicy: boolean): string {
  let parsed: { Statement?: unknown };
  try {
    parsed = JSON.parse(document) as { Statement?: unknown };
  } catch {
    throw new AwsError('MalformedPolicyDocument', 'This policy contains invalid Json', 400);
  }
  if (parsed === null || typeof parsed !== 'object' || parsed.Statement === undefined) {
    throw new AwsError('MalformedPolicyDocument', 'Syntax errors in policy.', 400);
  }
  const statements = (Array.isArray(parsed.Statement) ? parsed.Statement : [parsed.Statement]) as Array<Record<string, unknown>>;
  for (const statement of statements) {
    if (statement?.['Effect'] !== 'Allow' && statement?.['Effect'] !== 'Deny') {
      throw new AwsError('MalformedPolicyDocument', 'Syntax errors in policy.', 400);
    }
    if (trustPolicy && statement['Principal'] === undefined) {
      throw new AwsError('MalformedPolicyDocument', 'AssumeRolepolicy contained an invalid principal: null.', 400);
    }
    if (trustPolicy && statement['Resource'] !== undefined) {
      throw new AwsError('MalformedPolicyDocument', 'Has prohibited field Resource', 400);
    }
    if (!trustPolicy && statement['Principal'] !== undefined) {
      throw new AwsError('MalformedPolicyDocument', 'Policy document should not specify a principal.', 400);
    }
    if (!trustPolicy && statement['Resource'] === undefined && statement['NotResource'] === undefined) {
      throw new AwsError('MalformedPolicyDocument', 'Policy statement must contain resources.', 400);
    }
  }
  return document;
}

function checkPolicyArn(arn: string): void {
  if (!/^arn:aws[a-zA-Z-]*:iam::(aws|\d{12}):policy\/.+$/.test(arn)) {
    throw new AwsError('InvalidInput', `ARN ${arn} is not valid.`, 400);
  }
}

function checkTags(tags: Array<{ Key: string; Value: string }>): Array<{ Key: string; Value: string }> {
  for (const tag of tags) {
    if (tag.Key.toLowerCase().startsWith('aws:')) {
      throw new AwsError('InvalidInput', 'User-defined tag keys can\'t start with "aws:". This prefix is reserved for AWS tags.', 400);
    }
  }
  if (tags.length > 50) throw new AwsError('LimitExceeded', 'The number of tags has reached the maximum limit.', 409);
  return tags;
}

function roleXml(role: RoleRecord): { [key: string]: XmlValue } {
  return {
    Path: role.path,
    RoleName: role.name,
    RoleId: role.roleId,
    Arn: role.arn,
    CreateDate: role.createDate,
    // IAM returns policy documents URL-encoded.
    AssumeRolePolicyDocument: encodeURIComponent(role.assumeRolePolicyDocument),
    Description: role.description,
    MaxSessionDuration: role.maxSessionDuration,
    Tags: role.tags.length > 0 ? role.tags : undefined,
  };
}

function createRole(ctx: StandInContext, params: URLSearchParams): ApiResponse {
  const name = required(params, 'RoleName');
  if (!ROLE_NAME.test(name)) {
    throw new AwsError('ValidationError', `1 validation error detected: Value '${name}' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+`, 400);
  }
  const document = checkPolicy(required(params, 'AssumeRolePolicyDocument'), true);
  const path = params.get('Path') ?? '/';
  if (!/^\/([\x21-\x7e]*\/)?$/.test(path)) {
    throw new AwsError('ValidationError', `1 validation error detected: Value '${path}' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)`, 400);
  }
  const tags = checkTags(memberTags(params));
  if (ctx.state.roles.has(name)) throw new AwsError('EntityAlreadyExists', `Role with name ${name} already exists.`, 409);
  const maxSession = Number(params.get('MaxSessionDuration') ?? 3600);
  const role: RoleRecord = {
    name,
    path,
    arn: `arn:aws:iam::${ctx.state.accountId}:role${path}${name}`,
    roleId: `AROA${randomBytes(12).toString('hex').toUpperCase().slice(0, 17)}`,
    createDate: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    assumeRolePolicyDocument: document,
    description: params.get('Description') ?? undefined,
    maxSessionDuration: maxSession,
    tags,
    inlinePolicies: new Map(),
    attachedPolicies: new Set(),
    propagationFailuresLeft: ctx.rolePropagationFailures,
  };
  ctx.state.roles.set(name, role);
  return queryResponse('iam', 'CreateRole', { Role: roleXml(role) });
}

function deleteRole(ctx: StandInContext, params: URLSearchParams): ApiResponse {
  const role = requireRole(ctx, params);
  if (role.inlinePolicies.size > 0) throw new AwsError('DeleteConflict', 'Cannot delete entity, must delete policies first.', 409);
  if (role.attachedPolicies.size > 0) {
    throw new AwsError('DeleteConflict', 'Cannot delete entity, must detach all policies first.', 409);
  }
  ctx.state.roles.delete(role.name);
  return queryResponse('iam', 'DeleteRole');
}
