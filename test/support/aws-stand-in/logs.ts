import { AwsError, json11Input } from './errors.js';
import { jsonResponse, type ApiRequest, type ApiResponse, type RoutedCall, type StandInContext } from './context.js';
import type { LogEventRecord, LogGroupRecord } from './types.js';

const JSON_11 = 'application/x-amz-json-1.1';
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

type Input = Record<string, unknown>;
type LogsHandler = (ctx: StandInContext, input: Input) => ApiResponse;

const ok = (value: unknown = {}) => jsonResponse(200, value, JSON_11);

const HANDLERS: Record<string, LogsHandler> = {
  CreateLogGroup: (ctx, input) => {
    const name = groupName(input);
    if (ctx.state.logGroups.has(name)) {
      throw new AwsError('ResourceAlreadyExistsException', 'The specified log group already exists', 400);
    }
    const tags = input['tags'] ?? {};
    if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) {
      throw new AwsError('InvalidParameterException', 'tags must be a map of strings.', 400);
    }
    ctx.state.logGroups.set(name, { name, creationTime: Date.now(), streams: new Map(), tags: { ...(tags as Record<string, string>) } });
    return ok();
  },
  DeleteLogGroup: (ctx, input) => {
    const group = requireGroup(ctx, input);
    ctx.state.logGroups.delete(group.name);
    return ok();
  },
  DescribeLogGroups: (ctx, input) => {
    const prefix = typeof input['logGroupNamePrefix'] === 'string' ? input['logGroupNamePrefix'] : '';
    const all = [...ctx.state.logGroups.values()]
      .filter((group) => group.name.startsWith(prefix))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((group) => groupJson(ctx, group));
    return ok(page('logGroups', all, input, 50));
  },
  PutRetentionPolicy: (ctx, input) => {
    const group = requireGroup(ctx, input);
    const days = input['retentionInDays'];
    if (typeof days !== 'number' || !RETENTION_DAYS.includes(days)) {
      throw new AwsError(
        'InvalidParameterException',
        `1 validation error detected: Value '${String(days)}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [${RETENTION_DAYS.join(', ')}]`,
        400,
      );
    }
    group.retentionInDays = days;
    return ok();
  },
  DeleteRetentionPolicy: (ctx, input) => {
    delete requireGroup(ctx, input).retentionInDays;
    return ok();
  },
  CreateLogStream: (ctx, input) => {
    const group = requireGroup(ctx, input);
    const stream = String(input['logStreamName'] ?? '');
    if (group.streams.has(stream)) throw new AwsError('ResourceAlreadyExistsException', 'The specified log stream already exists', 400);
    group.streams.set(stream, []);
    return ok();
  },
  PutLogEvents: (ctx, input) => {
    const group = requireGroup(ctx, input);
    const streamName = String(input['logStreamName'] ?? '');
    if (!group.streams.has(streamName)) throw new AwsError('ResourceNotFoundException', 'The specified log stream does not exist.', 400);
    for (const event of (input['logEvents'] as Array<{ timestamp: number; message: string }>) ?? []) {
      ctx.state.appendLogEvents(group.name, streamName, [event.message], event.timestamp);
    }
    return ok({});
  },
  DescribeLogStreams: (ctx, input) => {
    const group = requireGroup(ctx, input);
    const prefix = typeof input['logStreamNamePrefix'] === 'string' ? input['logStreamNamePrefix'] : '';
    const all = [...group.streams.entries()]
      .filter(([name]) => name.startsWith(prefix))
      .map(([name, events]) => ({
        logStreamName: name,
        creationTime: events[0]?.ingestionTime ?? group.creationTime,
        firstEventTimestamp: events[0]?.timestamp,
        lastEventTimestamp: events.at(-1)?.timestamp,
        lastIngestionTime: events.at(-1)?.ingestionTime,
        arn: `${groupArn(ctx, group)}:log-stream:${name}`,
        storedBytes: 0,
      }));
    if (input['orderBy'] === 'LastEventTime') all.sort((a, b) => (a.lastEventTimestamp ?? 0) - (b.lastEventTimestamp ?? 0));
    else all.sort((a, b) => a.logStreamName.localeCompare(b.logStreamName));
    if (input['descending'] === true) all.reverse();
    return ok(page('logStreams', all, input, 50));
  },
  FilterLogEvents: filterLogEvents,
  ListTagsForResource: (ctx, input) => {
    const arn = String(input['resourceArn'] ?? '');
    const match = /^arn:aws:logs:[a-z0-9-]+:(\d{12}):log-group:(.+?)(:\*)?$/.exec(arn);
    const group = match && match[1] === ctx.state.accountId ? ctx.state.logGroups.get(match[2]!) : undefined;
    if (!group) throw new AwsError('ResourceNotFoundException', 'The specified resource does not exist.', 400);
    return ok({ tags: group.tags });
  },
};

/** Matches a CloudWatch Logs JSON 1.1 request (X-Amz-Target: Logs_20140328.<Action>) to its action. */
export function routeLogs(ctx: StandInContext, req: ApiRequest, target: string): RoutedCall {
  const action = target.replace(/^Logs_20140328\./, '');
  const { input, parseError } = json11Input(req.body);
  const name = typeof input['logGroupName'] === 'string' ? input['logGroupName'] : '*';
  return {
    service: 'logs',
    action,
    resource: () => `arn:aws:logs:${ctx.state.region}:${ctx.state.accountId}:log-group:${name}`,
    run: async () => {
      if (parseError) throw parseError;
      const handler = HANDLERS[action];
      if (!handler) throw new AwsError('UnknownOperationException', `Unknown operation ${action}`, 400);
      return handler(ctx, input);
    },
  };
}

function groupName(input: Input): string {
  const name = input['logGroupName'] ?? input['logGroupIdentifier'];
  if (typeof name !== 'string' || !/^[.\-_/#A-Za-z0-9]{1,512}$/.test(name)) {
    throw new AwsError(
      'InvalidParameterException',
      `1 validation error detected: Value '${String(name)}' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+`,
      400,
    );
  }
  return name;
}

function requireGroup(ctx: StandInContext, input: Input): LogGroupRecord {
  const group = ctx.state.logGroups.get(groupName(input));
  if (!group) throw new AwsError('ResourceNotFoundException', 'The specified log group does not exist.', 400);
  return group;
}

function groupArn(ctx: StandInContext, group: LogGroupRecord): string {
  return `arn:aws:logs:${ctx.state.region}:${ctx.state.accountId}:log-group:${group.name}`;
}

function groupJson(ctx: StandInContext, group: LogGroupRecord): Record<string, unknown> {
  return {
    logGroupName: group.name,
    creationTime: group.creationTime,
    retentionInDays: group.retentionInDays,
    metricFilterCount: 0,
    arn: `${groupArn(ctx, group)}:*`,
    logGroupArn: groupArn(ctx, group),
    storedBytes: 0,
    logGroupClass: 'STANDARD',
  };
}

/** Pages a list with an opaque offset token, as CloudWatch Logs' nextToken. */
function page<T>(key: string, items: T[], input: Input, defaultLimit: number): Record<string, unknown> {
  const token = input['nextToken'];
  const start = typeof token === 'string' ? Number(Buffer.from(token, 'base64').toString('utf8')) : 0;
  if (!Number.isInteger(start) || start < 0) {
    throw new AwsError('InvalidParameterException', 'The specified nextToken is invalid.', 400);
  }
  const limit = typeof input['limit'] === 'number' ? input['limit'] : defaultLimit;
  const result: Record<string, unknown> = { [key]: items.slice(start, start + limit) };
  if (start + limit < items.length) result['nextToken'] = Buffer.from(String(start + limit)).toString('base64');
  return result;
}

/** Terms of a filter pattern: every unquoted word or quoted phrase must occur (case-sensitive). */
function matcher(pattern: unknown): (message: string) => boolean {
  if (typeof pattern !== 'string' || pattern.trim() === '') return () => true;
  const terms = [...pattern.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
  return (message) => terms.every((term) => message.includes(term));
}

function filterLogEvents(ctx: StandInContext, input: Input): ApiResponse {
  const group = requireGroup(ctx, input);
  const names = Array.isArray(input['logStreamNames']) ? (input['logStreamNames'] as string[]) : undefined;
  const prefix = typeof input['logStreamNamePrefix'] === 'string' ? input['logStreamNamePrefix'] : undefined;
  if (names && prefix !== undefined) {
    throw new AwsError('InvalidParameterException', 'Cannot specify both logStreamNames and logStreamNamePrefix', 400);
  }
  const start = typeof input['startTime'] === 'number' ? input['startTime'] : -Infinity;
  const end = typeof input['endTime'] === 'number' ? input['endTime'] : Infinity;
  const matches = matcher(input['filterPattern']);
  const events: Array<LogEventRecord & { logStreamName: string }> = [];
  const searched: string[] = [];
  for (const [streamName, streamEvents] of group.streams) {
    if (names && !names.includes(streamName)) continue;
    if (prefix !== undefined && !streamName.startsWith(prefix)) continue;
    searched.push(streamName);
    for (const event of streamEvents) {
      if (event.timestamp >= start && event.timestamp <= end && matches(event.message)) events.push({ ...event, logStreamName: streamName });
    }
  }
  events.sort((a, b) => a.timestamp - b.timestamp || a.eventId.localeCompare(b.eventId));
  const result = page('events', events, input, 10000);
  result['searchedLogStreams'] = searched.map((logStreamName) => ({ logStreamName, searchedCompletely: true }));
  return ok(result);
}
