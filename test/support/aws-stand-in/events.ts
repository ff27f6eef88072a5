import { AwsError, json11Input } from './errors.js';
import { jsonResponse, type ApiRequest, type ApiResponse, type RoutedCall, type StandInContext } from './context.js';
import { functionNotFound, parseFunctionRef, resolveVersion } from './lambda-settings.js';
import type { EventRuleRecord, EventTargetRecord, PolicyStatement } from './types.js';

const JSON_11 = 'application/x-amz-json-1.1';
const NAME = /^[.\-_A-Za-z0-9]{1,64}$/;
/** EventBridge's rate(value unit): a positive integer, the unit singular for 1 and plural above. */
const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\((\S+ ){5}\S+\)$/;
const TARGETS_PER_RULE = 5;

type Input = Record<string, unknown>;
type EventsHandler = (ctx: StandInContext, input: Input) => ApiResponse;

const ok = (value: unknown = {}) => jsonResponse(200, value, JSON_11);
const validation = (message: string) => new AwsError('ValidationException', message, 400);

function validScheduleExpression(expression: string): boolean {
  const rate = RATE.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    return value >= 1 && (value === 1) === !rate[2]!.endsWith('s');
  }
  return CRON.test(expression);
}

function ruleName(input: Input, member = 'Name'): string {
  const name = input[member];
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw validation(
      `1 validation error detected: Value '${String(name)}' at '${member.toLowerCase()}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+`,
    );
  }
  return name;
}

function requireRule(ctx: StandInContext, name: string): EventRuleRecord {
  const rule = ctx.state.eventRules.get(name);
  if (!rule) throw new AwsError('ResourceNotFoundException', `Rule ${name} does not exist on EventBus default.`, 400);
  return rule;
}

function checkBus(input: Input): void {
  const bus = input['EventBusName'];
  if (bus !== undefined && bus !== 'default') throw new AwsError('ResourceNotFoundException', `Event bus ${String(bus)} does not exist.`, 400);
}

function tagList(value: unknown): Array<{ Key: string; Value: string }> {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw validation('Tags must be a list.');
  return value.map((tag: { Key?: unknown; Value?: unknown }) => {
    if (typeof tag.Key !== 'string' || typeof tag.Value !== 'string') throw validation('Each tag needs a Key and a Value.');
    if (tag.Key.toLowerCase().startsWith('aws:')) throw validation('Tag keys cannot start with the reserved prefix aws:.');
    return { Key: tag.Key, Value: tag.Value };
  });
}

function ruleByArn(ctx: StandInContext, arn: unknown): EventRuleRecord {
  const match = typeof arn === 'string' ? /^arn:aws:events:[a-z0-9-]+:(\d{12}):rule\/([.\-_A-Za-z0-9]+)$/.exec(arn) : null;
  const rule = match && match[1] === ctx.state.accountId ? ctx.state.eventRules.get(match[2]!) : undefined;
  if (!rule) throw new AwsError('ResourceNotFoundException', `Resource ${String(arn)} does not exist.`, 400);
  return rule;
}

const HANDLERS: Record<string, EventsHandler> = {
  PutRule: (ctx, input) => {
    checkBus(input);
    const name = ruleName(input);
    const schedule = input['ScheduleExpression'];
    const pattern = input['EventPattern'];
    if (schedule === undefined && pattern === undefined) throw validation('Parameter(s) EventPattern or ScheduleExpression must be specified.');
    if (schedule !== undefined && (typeof schedule !== 'string' || !validScheduleExpression(schedule))) {
      throw validation('Parameter ScheduleExpression is not valid.');
    }
    const state = input['State'] ?? 'ENABLED';
    if (state !== 'ENABLED' && state !== 'DISABLED') {
      throw validation(`1 validation error detected: Value '${String(state)}' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]`);
    }
    const existing = ctx.state.eventRules.get(name);
    const arn = `arn:aws:events:${ctx.state.region}:${ctx.state.accountId}:rule/${name}`;
    // PutRule replaces the rule: arguments left out are cleared, not kept. Tags apply only when it is created.
    ctx.state.eventRules.set(name, {
      name,
      arn,
      scheduleExpression: schedule as string | undefined,
      eventPattern: pattern as string | undefined,
      state,
      description: input['Description'] as string | undefined,
      roleArn: input['RoleArn'] as string | undefined,
      tags: existing ? existing.tags : tagList(input['Tags']),
      targets: existing ? existing.targets : new Map(),
    });
    return ok({ RuleArn: arn });
  },
  DescribeRule: (ctx, input) => {
    checkBus(input);
    const rule = requireRule(ctx, ruleName(input));
    const body: Record<string, unknown> = {
      Name: rule.name, Arn: rule.arn, State: rule.state, EventBusName: 'default', CreatedBy: ctx.state.accountId,
    };
    if (rule.scheduleExpression !== undefined) body['ScheduleExpression'] = rule.scheduleExpression;
    if (rule.eventPattern !== undefined) body['EventPattern'] = rule.eventPattern;
    if (rule.description !== undefined) body['Description'] = rule.description;
    if (rule.roleArn !== undefined) body['RoleArn'] = rule.roleArn;
    return ok(body);
  },
  DeleteRule: (ctx, input) => {
    checkBus(input);
    const name = ruleName(input);
    const rule = ctx.state.eventRules.get(name);
    // Deleting a rule that is not there succeeds: every repeated call does.
    if (!rule) return ok();
    if (rule.targets.size > 0 && input['Force'] !== true) throw validation('Rule can\'t be deleted since it has targets.');
    ctx.state.eventRules.delete(name);
    return ok();
  },
  PutTargets: (ctx, input) => {
    checkBus(input);
    const rule = requireRule(ctx, ruleName(input, 'Rule'));
    const targets = input['Targets'];
    if (!Array.isArray(targets) || targets.length === 0) {
      throw validation("1 validation error detected: Value null at 'targets' failed to satisfy constraint: Member must not be null");
    }
    const next = new Map(rule.targets);
    for (const raw of targets as Input[]) {
      const id = raw['Id'];
      if (typeof id !== 'string' || !/^[.\-_A-Za-z0-9]{1,64}$/.test(id)) {
        throw validation(`1 validation error detected: Value '${String(id)}' at 'targets.1.member.id' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+`);
      }
      if (typeof raw['Arn'] !== 'string' || !raw['Arn'].startsWith('arn:')) throw validation(`Parameter ${String(raw['Arn'])} is not valid. Reason: Provided Arn is not in correct format.`);
      const text = raw['Input'];
      if (text !== undefined) {
        try {
          JSON.parse(String(text));
        } catch {
          throw validation(`Input for target ${id} is not valid JSON text.`);
        }
      }
      const target: EventTargetRecord = { Id: id, Arn: raw['Arn'] };
      if (text !== undefined) target.Input = String(text);
      if (typeof raw['InputPath'] === 'string') target.InputPath = raw['InputPath'];
      if (typeof raw['RoleArn'] === 'string') target.RoleArn = raw['RoleArn'];
      next.set(id, target);
    }
    if (next.size > TARGETS_PER_RULE) {
      throw new AwsError('LimitExceededException', `The requested resource exceeds the maximum number allowed. Rule ${rule.name} can have at most ${TARGETS_PER_RULE} targets.`, 400);
    }
    rule.targets = next;
    return ok({ FailedEntryCount: 0, FailedEntries: [] });
  },
  ListTargetsByRule: (ctx, input) => {
    checkBus(input);
    const rule = requireRule(ctx, ruleName(input, 'Rule'));
    return ok({ Targets: [...rule.targets.values()] });
  },
  RemoveTargets: (ctx, input) => {
    checkBus(input);
    const rule = requireRule(ctx, ruleName(input, 'Rule'));
    const ids = input['Ids'];
    if (!Array.isArray(ids) || ids.length === 0) throw validation("1 validation error detected: Value null at 'ids' failed to satisfy constraint: Member must not be null");
    const failed: Input[] = [];
    for (const id of ids as string[]) {
      if (!rule.targets.delete(id)) failed.push({ TargetId: id, ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Target ${id} does not exist.` });
    }
    return ok({ FailedEntryCount: failed.length, FailedEntries: failed });
  },
  ListTagsForResource: (ctx, input) => ok({ Tags: ruleByArn(ctx, input['ResourceARN']).tags }),
  TagResource: (ctx, input) => {
    const rule = ruleByArn(ctx, input['ResourceARN']);
    for (const tag of tagList(input['Tags'])) {
      rule.tags = [...rule.tags.filter((t) => t.Key !== tag.Key), tag];
    }
    return ok();
  },
};

/** Matches an EventBridge JSON 1.1 request (X-Amz-Target: AWSEvents.<Action>) to its action. */
export function routeEvents(ctx: StandInContext, req: ApiRequest, target: string): RoutedCall {
  const action = target.replace(/^AWSEvents\./, '');
  const { input, parseError } = json11Input(req.body);
  const name = typeof input['Name'] === 'string' ? input['Name'] : typeof input['Rule'] === 'string' ? input['Rule'] : '*';
  return {
    service: 'events',
    action,
    resource: () => (typeof input['ResourceARN'] === 'string' ? input['ResourceARN'] : `arn:aws:events:${ctx.state.region}:${ctx.state.accountId}:rule/${name}`),
    run: async () => {
      if (parseError) throw parseError;
      const handler = HANDLERS[action];
      if (!handler) throw new AwsError('UnknownOperationException', `Unknown operation ${action}`, 400);
      return handler(ctx, input);
    },
  };
}

/** What one firing of a scheduled rule delivers to a Lambda target, once Lambda allowed it. */
export interface RuleInvocation {
  functionName: string;
  qualifier?: string;
  /** The version the qualifier resolved to. */
  version: string;
  /** The target's Input, parsed: the event the function receives. */
  event: unknown;
}

/**
 * Fires a rule as its schedule would: each Lambda target is invoked only if the function's resource
 * policy (on the target's qualifier) lets events.amazonaws.com invoke it from this rule's ARN. A target
 * that is not allowed fails as EventBridge's delivery would (the rule's FailedInvocations); here it throws.
 */
export function fireRule(ctx: StandInContext, name: string): RuleInvocation[] {
  const rule = requireRule(ctx, name);
  if (rule.state !== 'ENABLED') return [];
  return [...rule.targets.values()].map((target) => {
    const ref = parseFunctionRef(ctx, target.Arn, undefined);
    const fn = ctx.state.functions.get(ref.name);
    if (!fn) throw functionNotFound(ctx, ref.name, ref.qualifier);
    const version = resolveVersion(ctx, fn, ref.qualifier);
    const statements = fn.policies.get(ref.qualifier ?? '') ?? [];
    if (!statements.some((s) => allowsRule(s, rule.arn))) {
      throw new AwsError('AccessDeniedException', `events.amazonaws.com is not allowed to invoke ${target.Arn} from ${rule.arn}`, 403);
    }
    return { functionName: fn.name, qualifier: ref.qualifier, version: version.version, event: target.Input === undefined ? {} : JSON.parse(target.Input) };
  });
}

function allowsRule(statement: PolicyStatement, ruleArn: string): boolean {
  const principal = statement.Principal;
  const service = typeof principal === 'object' && 'Service' in principal ? principal.Service : undefined;
  const action = statement.Action === 'lambda:InvokeFunction' || statement.Action === 'lambda:*' || statement.Action === '*';
  const source = statement.Condition?.['ArnLike']?.['AWS:SourceArn'];
  return statement.Effect === 'Allow' && service === 'events.amazonaws.com' && action && (source === undefined || source === ruleArn);
}
