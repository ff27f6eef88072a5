import { AwsError, json11Input } from './errors.js';
import { jsonResponse, type ApiRequest, type ApiResponse, type RoutedCall, type StandInContext } from './context.js';
import type { AlarmRecord, MetricPoint } from './types.js';

/**
 * CloudWatch (metrics and alarms), as the SDK's client speaks it: AWS JSON 1.0 with X-Amz-Target
 * GraniteServiceVersion20100801.<Action>, timestamps as epoch seconds, errors query-compatible
 * (x-amzn-query-error: Code;Sender). Metrics come from what the stand-in's Function URLs ran: Lambda's
 * own (AWS/Lambda Invocations, Errors, Throttles by function, by Resource and by ExecutedVersion) and
 * the handler's embedded metric format lines (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 */

const JSON_10 = 'application/x-amz-json-1.0';
const TARGET_PREFIX = 'GraniteServiceVersion20100801.';
const STATS = ['Sum', 'Average', 'Minimum', 'Maximum', 'SampleCount'];
const ALARM_STATES = ['OK', 'ALARM', 'INSUFFICIENT_DATA'];

type Input = Record<string, unknown>;
type Dimensions = Record<string, string>;

const ok = (value: unknown = {}) => jsonResponse(200, value, JSON_10);
const invalid = (message: string) => new AwsError('InvalidParameterValueException', message, 400);
const missing = (name: string) => new AwsError('MissingRequiredParameterException', `The parameter ${name} is required.`, 400);

/** Records one data point. */
export function putMetric(ctx: StandInContext, point: Omit<MetricPoint, 'time'> & { time?: number }): void {
  ctx.state.metrics.push({ ...point, time: point.time ?? Date.now() });
}

/**
 * Lambda's metrics for one invocation through `qualifier`: by function, by Resource (function:qualifier)
 * and, for an alias, by Resource and ExecutedVersion.
 */
export function recordInvocation(
  ctx: StandInContext,
  fn: string,
  qualifier: string | undefined,
  executedVersion: string,
  outcome: 'ok' | 'error' | 'throttled',
): void {
  const sets: Dimensions[] = [{ FunctionName: fn }];
  if (qualifier !== undefined && qualifier !== '$LATEST') {
    sets.push({ FunctionName: fn, Resource: `${fn}:${qualifier}` });
    if (qualifier !== executedVersion) sets.push({ FunctionName: fn, Resource: `${fn}:${qualifier}`, ExecutedVersion: executedVersion });
  }
  for (const dimensions of sets) {
    if (outcome === 'throttled') {
      putMetric(ctx, { namespace: 'AWS/Lambda', name: 'Throttles', dimensions, value: 1 });
      continue;
    }
    putMetric(ctx, { namespace: 'AWS/Lambda', name: 'Invocations', dimensions, value: 1 });
    putMetric(ctx, { namespace: 'AWS/Lambda', name: 'Errors', dimensions, value: outcome === 'error' ? 1 : 0 });
  }
}

/** Turns the embedded-metric-format lines among a function's log lines into metrics, as CloudWatch Logs does. */
export function ingestEmbeddedMetrics(ctx: StandInContext, lines: readonly string[]): void {
  for (const line of lines) {
    if (!line.startsWith('{') || !line.includes('"_aws"')) continue;
    let root: Record<string, unknown>;
    try {
      root = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const meta = root['_aws'] as { Timestamp?: number; CloudWatchMetrics?: { Namespace?: string; Dimensions?: string[][]; Metrics?: { Name?: string }[] }[] } | undefined;
    if (typeof meta?.Timestamp !== 'number' || !Array.isArray(meta.CloudWatchMetrics)) continue;
    for (const directive of meta.CloudWatchMetrics) {
      if (typeof directive.Namespace !== 'string') continue;
      for (const set of directive.Dimensions ?? []) {
        if (!set.every((key) => typeof root[key] === 'string')) continue;
        const dimensions = Object.fromEntries(set.map((key) => [key, root[key] as string]));
        for (const metric of directive.Metrics ?? []) {
          const value = metric.Name === undefined ? undefined : root[metric.Name];
          if (typeof value === 'number') putMetric(ctx, { namespace: directive.Namespace, name: metric.Name!, dimensions, value, time: meta.Timestamp });
        }
      }
    }
  }
}

const sameDimensions = (a: Dimensions, b: Dimensions): boolean => {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
};

function statistic(values: number[], stat: string): number {
  switch (stat) {
    case 'Sum':
      return values.reduce((sum, value) => sum + value, 0);
    case 'Average':
      return values.reduce((sum, value) => sum + value, 0) / values.length;
    case 'Minimum':
      return Math.min(...values);
    case 'Maximum':
      return Math.max(...values);
    default:
      return values.length;
  }
}

interface Query {
  Id?: string;
  ReturnData?: boolean;
  MetricStat?: { Metric?: { Namespace?: string; MetricName?: string; Dimensions?: { Name?: string; Value?: string }[] }; Period?: number; Stat?: string };
  Expression?: string;
}

function getMetricData(ctx: StandInContext, input: Input): ApiResponse {
  const queries = input['MetricDataQueries'];
  if (!Array.isArray(queries) || queries.length === 0) throw missing('MetricDataQueries');
  if (queries.length > 500) throw invalid('The collection MetricDataQueries must not have a size greater than 500.');
  const start = input['StartTime'];
  const end = input['EndTime'];
  if (typeof start !== 'number') throw missing('StartTime');
  if (typeof end !== 'number') throw missing('EndTime');
  if (start >= end) throw invalid('The parameter StartTime must be less than the parameter EndTime.');
  const ids = new Set<string>();
  const results = (queries as Query[]).map((query) => {
    const id = query.Id ?? '';
    if (!/^[a-z][a-zA-Z0-9_]*$/.test(id)) throw invalid(`The value ${id} for parameter MetricDataQueries.member.Id is invalid: it must start with a lowercase letter and contain only letters, numbers and underscores.`);
    if (ids.has(id)) throw invalid(`The value ${id} for parameter MetricDataQueries.member.Id is not unique.`);
    ids.add(id);
    if (query.Expression !== undefined) throw invalid('Metric math expressions are not supported by this stand-in.');
    const stat = query.MetricStat;
    const metric = stat?.Metric;
    if (!stat || !metric?.Namespace || !metric.MetricName) throw missing('MetricDataQueries.member.MetricStat');
    if (typeof stat.Period !== 'number' || stat.Period < 60 || stat.Period % 60 !== 0) {
      throw invalid('The parameter MetricDataQueries.member.MetricStat.Period must be a multiple of 60 for metrics of standard resolution.');
    }
    if (!STATS.includes(stat.Stat ?? '')) throw invalid(`The value ${String(stat.Stat)} for parameter MetricDataQueries.member.MetricStat.Stat is not supported.`);
    const wanted = Object.fromEntries((metric.Dimensions ?? []).map((d) => [d.Name ?? '', d.Value ?? '']));
    const periodMs = stat.Period * 1000;
    const buckets = new Map<number, number[]>();
    for (const point of ctx.state.metrics) {
      if (point.namespace !== metric.Namespace || point.name !== metric.MetricName || !sameDimensions(point.dimensions, wanted)) continue;
      if (point.time < start * 1000 || point.time >= end * 1000) continue;
      const bucket = start * 1000 + Math.floor((point.time - start * 1000) / periodMs) * periodMs;
      buckets.set(bucket, [...(buckets.get(bucket) ?? []), point.value]);
    }
    const times = [...buckets.keys()].sort((a, b) => (input['ScanBy'] === 'TimestampAscending' ? a - b : b - a));
    return {
      Id: id,
      Label: metric.MetricName,
      Timestamps: times.map((t) => t / 1000),
      Values: times.map((t) => statistic(buckets.get(t)!, stat.Stat!)),
      StatusCode: 'Complete',
    };
  });
  return ok({ MetricDataResults: results.filter((_, i) => (queries as Query[])[i]!.ReturnData !== false), Messages: [] });
}

function alarmJson(ctx: StandInContext, alarm: AlarmRecord): Record<string, unknown> {
  return {
    AlarmName: alarm.name,
    AlarmArn: `arn:aws:cloudwatch:${ctx.state.region}:${ctx.state.accountId}:alarm:${alarm.name}`,
    StateValue: alarm.state,
    StateReason: alarm.reason,
    StateUpdatedTimestamp: alarm.updated / 1000,
    MetricName: alarm.metricName,
    Namespace: alarm.namespace,
  };
}

function requireName(input: Input): string {
  const name = input['AlarmName'];
  if (typeof name !== 'string' || name === '') throw missing('AlarmName');
  return name;
}

const HANDLERS: Record<string, (ctx: StandInContext, input: Input) => ApiResponse> = {
  GetMetricData: getMetricData,
  PutMetricAlarm: (ctx, input) => {
    const name = requireName(input);
    for (const key of ['EvaluationPeriods', 'ComparisonOperator']) if (input[key] === undefined) throw missing(key);
    const existing = ctx.state.alarms.get(name);
    ctx.state.alarms.set(name, {
      name,
      metricName: typeof input['MetricName'] === 'string' ? input['MetricName'] : undefined,
      namespace: typeof input['Namespace'] === 'string' ? input['Namespace'] : undefined,
      state: existing?.state ?? 'INSUFFICIENT_DATA',
      reason: existing?.reason ?? 'Unchecked: Initial alarm creation',
      updated: existing?.updated ?? Date.now(),
    });
    return ok({});
  },
  SetAlarmState: (ctx, input) => {
    const alarm = ctx.state.alarms.get(requireName(input));
    if (!alarm) throw new AwsError('ResourceNotFound', `Alarm ${String(input['AlarmName'])} does not exist.`, 404);
    const state = input['StateValue'];
    if (typeof state !== 'string' || !ALARM_STATES.includes(state)) throw invalid(`The value ${String(state)} for parameter StateValue is not valid.`);
    if (typeof input['StateReason'] !== 'string') throw missing('StateReason');
    Object.assign(alarm, { state, reason: input['StateReason'], updated: Date.now() });
    return ok({});
  },
  DescribeAlarms: (ctx, input) => {
    const names = input['AlarmNames'];
    if (names !== undefined && (!Array.isArray(names) || names.length > 100)) throw invalid('The collection AlarmNames must not have a size greater than 100.');
    const alarms = [...ctx.state.alarms.values()]
      .filter((alarm) => names === undefined || (names as unknown[]).includes(alarm.name))
      .sort((a, b) => a.name.localeCompare(b.name));
    return ok({ MetricAlarms: alarms.map((alarm) => alarmJson(ctx, alarm)), CompositeAlarms: [] });
  },
};

export function routeCloudWatch(ctx: StandInContext, req: ApiRequest, target: string): RoutedCall {
  const action = target.replace(TARGET_PREFIX, '');
  const { input, parseError } = json11Input(req.body);
  const name = typeof input['AlarmName'] === 'string' ? input['AlarmName'] : '*';
  return {
    service: 'monitoring',
    action,
    resource: () => (action === 'GetMetricData' ? '*' : `arn:aws:cloudwatch:${ctx.state.region}:${ctx.state.accountId}:alarm:${name}`),
    run: async () => {
      if (parseError) throw parseError;
      const handler = HANDLERS[action];
      if (!handler) throw new AwsError('UnknownOperationException', `Unknown operation ${action}`, 400);
      return handler(ctx, input);
    },
  };
}

export const isCloudWatchTarget = (target: unknown): target is string => typeof target === 'string' && target.startsWith(TARGET_PREFIX);
