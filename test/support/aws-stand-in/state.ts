import { randomBytes } from 'node:crypto';
import type {
  CallRecord,
  EventRuleRecord,
  FunctionRecord,
  LayerRecord,
  LogEventRecord,
  LogGroupRecord,
  MetricPoint,
  AlarmRecord,
  RoleRecord,
} from './types.js';

/** Everything the stand-in's control planes hold, plus the log of calls it answered. */
export interface StandInState {
  readonly accountId: string;
  readonly region: string;
  /** Lambda functions by name; versions, aliases, URL configs and policies hang off each function. */
  readonly functions: Map<string, FunctionRecord>;
  /** Lambda layers by name. */
  readonly layers: Map<string, LayerRecord>;
  /** IAM roles by name (inline and attached policies hang off each role). */
  readonly roles: Map<string, RoleRecord>;
  /** CloudWatch Logs groups by name. */
  readonly logGroups: Map<string, LogGroupRecord>;
  /** EventBridge rules of the default event bus, by name. */
  readonly eventRules: Map<string, EventRuleRecord>;
  /** The account's concurrent executions limit; a test may lower it (new accounts often have 10). */
  accountConcurrency: number;
  /** CloudWatch data points, oldest first. */
  readonly metrics: MetricPoint[];
  /** CloudWatch metric alarms by name. */
  readonly alarms: Map<string, AlarmRecord>;
  /** Every request answered, in order. */
  readonly calls: CallRecord[];
  /** Every Code.Location / Content.Location download, as `function:version` or `layer:version`. */
  readonly downloads: string[];
  /** Calls that changed (or tried to change) something. */
  writeCalls(): CallRecord[];
  /** Appends events to a function's log group (created if missing), as Lambda's runtime would. */
  appendFunctionLogs(functionName: string, lines: string[], options?: AppendLogOptions): void;
  /** Appends events to any log group/stream (both created if missing). */
  appendLogEvents(groupName: string, streamName: string, lines: string[], timestamp?: number): void;
}

export interface AppendLogOptions {
  /** Version shown in the stream name; default $LATEST. */
  version?: string;
  /** Stream to write to; default a new stream named like Lambda's. */
  streamName?: string;
  timestamp?: number;
}

let eventCounter = 0;

export function createState(accountId: string, region: string, accountConcurrency = 1000): StandInState {
  const logGroups = new Map<string, LogGroupRecord>();
  const calls: CallRecord[] = [];

  function appendLogEvents(groupName: string, streamName: string, lines: string[], timestamp = Date.now()): void {
    let group = logGroups.get(groupName);
    if (!group) {
      group = { name: groupName, creationTime: Date.now(), streams: new Map(), tags: {} };
      logGroups.set(groupName, group);
    }
    let stream = group.streams.get(streamName);
    if (!stream) {
      stream = [];
      group.streams.set(streamName, stream);
    }
    for (const message of lines) {
      const event: LogEventRecord = {
        timestamp,
        message,
        ingestionTime: Date.now(),
        eventId: String(++eventCounter).padStart(56, '0'),
      };
      stream.push(event);
    }
  }

  return {
    accountId,
    region,
    functions: new Map(),
    layers: new Map(),
    roles: new Map(),
    logGroups,
    eventRules: new Map(),
    accountConcurrency,
    metrics: [],
    alarms: new Map(),
    calls,
    downloads: [],
    writeCalls: () => calls.filter((call) => call.write),
    appendLogEvents,
    appendFunctionLogs(functionName, lines, options = {}) {
      const streamName = options.streamName ?? lambdaStreamName(options.version ?? '$LATEST');
      appendLogEvents(`/aws/lambda/${functionName}`, streamName, lines, options.timestamp);
    },
  };
}

/** Lambda's log stream naming: date/[version]instance-id. */
export function lambdaStreamName(version: string, when = new Date()): string {
  const day = when.toISOString().slice(0, 10).replace(/-/g, '/');
  return `${day}/[${version}]${randomBytes(16).toString('hex')}`;
}
