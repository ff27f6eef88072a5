import type { TaskContext } from '../task.js';
import { decisionsOfMessage, DECISION_FILTER_PATTERN, type DecisionLine } from './decision-line.js';

/** What reading the stage's decision trail from CloudWatch Logs found. */
export interface LoggedDecisions {
  logGroup: string;
  decisions: number;
  events: number;
}

/**
 * Every decision the stage's function logged since `startTime`, handed to `add` in log order, with
 * progress on a step of its own. No log group (the function never ran, or its logs were removed) reads
 * as no decisions, with a warning.
 */
export async function readLoggedDecisions(ctx: TaskContext, startTime: number, add: (d: DecisionLine) => unknown): Promise<LoggedDecisions> {
  const [{ checkCredentials }, { resourceNames }, { logEventPages }, { withAwsClients }, { isNotFound }] = await Promise.all([
    import('../aws/resources/credentials.js'),
    import('../aws/rules/names.js'),
    import('../aws/stages/logs.js'),
    import('../aws/resources/task-clients.js'),
    import('../aws/rules/aws-errors.js'),
  ]);
  return withAwsClients(ctx, async (clients) => {
    const identity = await checkCredentials(clients, ctx.signal);
    const { logGroup } = resourceNames(ctx.config, identity.account);
    const reading = ctx.reporter.step(`read decisions from ${logGroup} since ${new Date(startTime).toISOString()}`);
    let decisions = 0;
    let events = 0;
    try {
      try {
        for await (const page of logEventPages(clients, { logGroup, startTime, filterPattern: DECISION_FILTER_PATTERN, signal: ctx.signal })) {
          events += page.length;
          for (const event of page) {
            for (const { decision } of decisionsOfMessage(event.message ?? '')) {
              await add(decision);
              decisions += 1;
            }
          }
          reading.progress({ label: 'decisions read', current: decisions, unit: 'items' });
        }
      } catch (error) {
        if (!isNotFound(error) || ctx.signal.aborted) throw error;
        reading.line(`no log group ${logGroup}: no decisions were logged`, 'warn');
      }
      reading.done(`${decisions} decision(s) in ${events} log event(s)`);
      return { logGroup, decisions, events };
    } catch (error) {
      reading.fail(error);
      throw error;
    }
  });
}
