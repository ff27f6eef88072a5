import { DescribeAlarmsCommand, GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { PipeError, UsageError } from '../../errors.js';
import type { AwsClients } from './clients.js';

/**
 * How one version behaves behind an alias, read from CloudWatch: Lambda's Invocations, Errors and
 * Throttles with dimensions FunctionName, Resource (function:alias) and ExecutedVersion, and the
 * handler's own count of 5xx answers (pipe/ServerErrors, logged in embedded metric format with the same
 * dimensions: a model that fails on some records answers 500 without raising, which Lambda's Errors
 * would not count).
 */
export interface VersionHealth {
  requests: number;
  errors: number;
  throttles: number;
  /** (errors + throttles) / (requests + throttles); 0 without requests. */
  errorRate: number;
}

/** The namespace and metric the handler logs a 5xx answer under (handler/metrics.py). */
export const SERVER_ERRORS_METRIC = { namespace: 'pipe', name: 'ServerErrors' } as const;

const PERIOD_SECONDS = 60;

function query(id: string, namespace: string, name: string, dimensions: Record<string, string>): MetricDataQuery {
  return {
    Id: id,
    MetricStat: {
      Metric: { Namespace: namespace, MetricName: name, Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })) },
      Period: PERIOD_SECONDS,
      Stat: 'Sum',
    },
  };
}

const permissionHint = (action: string) =>
  `A gradual rollout reads CloudWatch: grant ${action} to the deploying identity, or set release.strategy to 'all-at-once'.`;

function deniedAs(error: unknown, action: string): unknown {
  if (error instanceof PipeError && error.code === 'AWS_ACCESS_DENIED') {
    return new PipeError('ROLLOUT_NO_METRICS', `${error.message}`, { hint: permissionHint(action), cause: error });
  }
  return error;
}

/** The version's requests and failures through the alias, from `since` until now. */
export async function versionHealth(
  clients: AwsClients,
  target: { functionName: string; alias: string; version: string; since: Date },
  signal?: AbortSignal,
): Promise<VersionHealth> {
  const dimensions = { FunctionName: target.functionName, Resource: `${target.functionName}:${target.alias}`, ExecutedVersion: target.version };
  // CloudWatch rounds a start inside a minute down to the minute: the sums cover at least [since, now].
  const end = new Date(Math.ceil((Date.now() + 1) / 60_000) * 60_000);
  const start = new Date(Math.min(target.since.getTime(), end.getTime() - 60_000));
  let out;
  try {
    out = await clients.cloudwatch.send(new GetMetricDataCommand({
      StartTime: start,
      EndTime: end,
      MetricDataQueries: [
        query('invocations', 'AWS/Lambda', 'Invocations', dimensions),
        query('errors', 'AWS/Lambda', 'Errors', dimensions),
        query('throttles', 'AWS/Lambda', 'Throttles', dimensions),
        query('server_errors', SERVER_ERRORS_METRIC.namespace, SERVER_ERRORS_METRIC.name, dimensions),
      ],
    }), { abortSignal: signal });
  } catch (error) {
    throw deniedAs(error, 'cloudwatch:GetMetricData');
  }
  const sum = (id: string) => (out.MetricDataResults ?? []).filter((r) => r.Id === id).flatMap((r) => r.Values ?? []).reduce((a, b) => a + b, 0);
  const requests = sum('invocations');
  const throttles = sum('throttles');
  const errors = sum('errors') + sum('server_errors');
  const attempts = requests + throttles;
  return { requests, errors, throttles, errorRate: attempts === 0 ? 0 : (errors + throttles) / attempts };
}

/** The named alarms in state ALARM. A name CloudWatch does not know is a configuration mistake (exit 2). */
export async function alarmsFiring(clients: AwsClients, names: readonly string[], region: string, signal?: AbortSignal): Promise<{ name: string; reason?: string }[]> {
  if (names.length === 0) return [];
  const found: { name: string; state?: string; reason?: string }[] = [];
  for (let at = 0; at < names.length; at += 100) {
    let out;
    try {
      out = await clients.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: names.slice(at, at + 100), AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }), { abortSignal: signal });
    } catch (error) {
      throw deniedAs(error, 'cloudwatch:DescribeAlarms');
    }
    for (const alarm of [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])]) {
      found.push({ name: alarm.AlarmName ?? '', state: alarm.StateValue, reason: alarm.StateReason });
    }
  }
  const unknown = names.filter((name) => !found.some((alarm) => alarm.name === name));
  if (unknown.length) {
    throw new UsageError('ROLLOUT_UNKNOWN_ALARM', `release.alarms names ${unknown.map((n) => `"${n}"`).join(', ')}, which CloudWatch does not have in ${region}`, {
      hint: 'Create the alarm first, or correct its name in pipeline.config.ts.',
    });
  }
  return found.filter((alarm) => alarm.state === 'ALARM').map(({ name, reason }) => ({ name, reason }));
}
