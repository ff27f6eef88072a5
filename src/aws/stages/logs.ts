import { FilterLogEventsCommand, type FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isNotFound } from '../rules/aws-errors.js';
import type { AwsClients } from '../resources/clients.js';

export interface LogsOptions {
  logGroup: string;
  /** Epoch ms. */
  startTime: number;
  follow: boolean;
  print(line: string): void;
  signal?: AbortSignal;
  /** Seconds between polls with --follow. */
  pollSeconds?: number;
  /** CloudWatch Logs filter pattern: only matching events are sent. */
  filterPattern?: string;
  /** The lines an event prints (default: its time and message); none skips it. */
  render?: (event: FilteredLogEvent) => string[];
}

const formatLogEvent = (e: FilteredLogEvent): string =>
  `${new Date(e.timestamp ?? 0).toISOString()} ${(e.message ?? '').replace(/\n$/, '')}`;

/** One page of FilterLogEvents at a time, from `startTime`; a missing log group throws its ResourceNotFoundException. */
export async function* logEventPages(
  clients: AwsClients, options: { logGroup: string; startTime: number; filterPattern?: string; signal?: AbortSignal },
): AsyncGenerator<FilteredLogEvent[], void> {
  let token: string | undefined;
  do {
    const page = await clients.logs.send(new FilterLogEventsCommand({
      logGroupName: options.logGroup, startTime: options.startTime, filterPattern: options.filterPattern, nextToken: token,
    }), { abortSignal: options.signal });
    yield page.events ?? [];
    token = page.nextToken;
  } while (token);
}

/**
 * Prints the function's CloudWatch log events since `startTime`; with `follow`, keeps polling for new
 * ones until the run is cancelled (Ctrl-C ends it normally). Returns how many lines were printed.
 */
export async function printLogs(clients: AwsClients, options: LogsOptions): Promise<number> {
  const seen = new Set<string>();
  const render = options.render ?? ((event: FilteredLogEvent) => [formatLogEvent(event)]);
  let since = options.startTime;
  let printed = 0;
  for (;;) {
    try {
      for await (const events of logEventPages(clients, { logGroup: options.logGroup, startTime: since, filterPattern: options.filterPattern, signal: options.signal })) {
        for (const event of events) {
          const id = event.eventId ?? `${event.timestamp}:${event.logStreamName}:${event.message}`;
          if (seen.has(id)) continue;
          seen.add(id);
          for (const line of render(event)) {
            options.print(line);
            printed += 1;
          }
          // Restart from the newest timestamp; events at that same millisecond are de-duplicated by id.
          since = Math.max(since, event.timestamp ?? since);
        }
      }
    } catch (error) {
      if (options.signal?.aborted) return printed;
      if (!isNotFound(error)) throw error;
      if (!options.follow) {
        options.print(`(no log group ${options.logGroup} yet: the function has not been invoked)`);
        return printed;
      }
    }
    if (!options.follow) return printed;
    try {
      await sleep((options.pollSeconds ?? 2) * 1000, undefined, { signal: options.signal });
    } catch {
      return printed;
    }
  }
}
