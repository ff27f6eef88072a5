import { setTimeout as sleep } from 'node:timers/promises';
import type { ResolvedConfig } from '../../config/resolved.js';
import type { ReleaseStrategy } from '../../config/schema.js';
import { durationSeconds, durationText } from '../../config/duration.js';
import { InterruptedError, PipeError, isAbortError } from '../../errors.js';
import type { StepReporter } from '../../reporter/reporter.js';
import type { AwsClients } from '../resources/clients.js';
import { pointAlias } from '../resources/function-url.js';
import { alarmsFiring, versionHealth, type VersionHealth } from '../resources/version-health.js';
import { pct } from '../rules/rollout-markdown.js';

/** The shares of live's traffic a gradual strategy gives the new version before all of it, and the wait at each. */
export interface RolloutPlan {
  kind: 'canary' | 'linear';
  /** Percentages below 100, ascending. */
  percents: number[];
  waitSeconds: number;
}

export function rolloutPlan(strategy: ReleaseStrategy): RolloutPlan | undefined {
  if (strategy === 'all-at-once') return undefined;
  if ('canary' in strategy) {
    return { kind: 'canary', percents: [strategy.canary.percent], waitSeconds: durationSeconds(strategy.canary.wait)! };
  }
  const percents: number[] = [];
  for (let p = strategy.linear.percent; p < 100; p += strategy.linear.percent) percents.push(p);
  return { kind: 'linear', percents, waitSeconds: durationSeconds(strategy.linear.every)! };
}

/** One step of a rollout as --json reports it: the share, and what the new version did up to the step's end. */
export interface RolloutStep extends VersionHealth {
  percent: number;
  /** ISO time the step ended. */
  at: string;
  /** Alarms of release.alarms that were in ALARM. */
  alarms: string[];
}

export interface RolloutReport {
  strategy: RolloutPlan['kind'];
  from: string;
  to: string;
  steps: RolloutStep[];
  outcome: 'completed' | 'rolled-back';
  /** The share the rollout stood at when this run took it over (an interrupted rollout resumed). */
  resumedAt?: number;
}

export interface RolloutArgs {
  functionName: string;
  alias: string;
  /** The version live serves, which keeps the rest of the traffic. */
  from: string;
  to: string;
  plan: RolloutPlan;
  release: ResolvedConfig['release'];
  region: string;
  /** The share (0 to 1) the new version already had: an interrupted rollout resumes at that step. */
  resumeWeight?: number;
  reporter: StepReporter;
  signal?: AbortSignal;
}


/**
 * Shifts the alias's traffic to the new version step by step (its routing configuration: no CodeDeploy),
 * watching the new version's error rate and the configured alarms at each step. A failing version gets its
 * weight back to 0 (live serves the old version only) and the deploy fails with the numbers. Interrupted,
 * the alias keeps the old version plus the weight; a later run resumes or reverts it.
 */
export async function rollOut(clients: AwsClients, args: RolloutArgs): Promise<RolloutReport> {
  const { functionName, alias, from, to, plan, release, reporter, signal } = args;
  const report: RolloutReport = { strategy: plan.kind, from, to, steps: [], outcome: 'completed' };
  const resumeAt = args.resumeWeight === undefined ? undefined : args.resumeWeight * 100;
  if (resumeAt !== undefined) report.resumedAt = Math.round(resumeAt * 100) / 100;
  const percents = resumeAt === undefined ? plan.percents : plan.percents.filter((p) => p >= resumeAt - 1e-9);
  const started = new Date();
  /** An interruption leaves the weight in place: say so, and what the next command does with it. */
  const interrupted = (error: unknown, percent: number): unknown => {
    if (!isAbortError(error) && !signal?.aborted) return error;
    const state = `live still answers with version ${from}, and ${percent}% of its requests go to version ${to}`;
    reporter.line(`rollout interrupted: ${state}`, 'warn');
    return new InterruptedError(`Interrupted during the rollout of version ${to}: ${state}`,
      `\`npx pipe deploy\` resumes the rollout; \`npx pipe rollback\` sends all of live's traffic back to version ${from}.`);
  };

  // Before any traffic moves: CloudWatch is readable, the alarms exist and none fires.
  await versionHealth(clients, { functionName, alias, version: to, since: started }, signal);
  const firingBefore = await alarmsFiring(clients, release.alarms, args.region, signal);
  if (firingBefore.length) {
    await pointAlias(clients, functionName, alias, from, signal);
    throw new PipeError('ROLLOUT_ALARM', `Alarm ${firingBefore.map((a) => a.name).join(', ')} is in ALARM before version ${to} took any traffic: live stays on version ${from}`, {
      hint: 'Deploy again once the alarm is OK (the new version waits on the candidate alias).',
    });
  }

  const failing = (h: VersionHealth) => h.requests + h.throttles >= release.minRequests && h.errorRate > release.maxErrorRate;
  // Six looks per step, at most every 30 s (CloudWatch's Lambda metrics are per minute); faster polling speeds tests up.
  const pollMs = Math.max(50, Math.min((plan.waitSeconds * 1000) / 6, clients.poll.maxDelay * 6000));
  let health: VersionHealth = { requests: 0, errors: 0, throttles: 0, errorRate: 0 };
  for (const percent of percents) {
    let firing: { name: string; reason?: string }[] = [];
    try {
      await pointAlias(clients, functionName, alias, from, signal, { version: to, weight: percent / 100 });
      reporter.line(`live: ${percent}% to version ${to}, ${100 - percent}% to version ${from}; watching for ${durationText(plan.waitSeconds)}`);
      const until = Date.now() + plan.waitSeconds * 1000;
      for (;;) {
        await sleep(Math.max(0, Math.min(pollMs, until - Date.now())), undefined, { signal });
        [health, firing] = await Promise.all([
          versionHealth(clients, { functionName, alias, version: to, since: started }, signal),
          alarmsFiring(clients, release.alarms, args.region, signal),
        ]);
        reporter.progress({ label: `version ${to} at ${percent}%: ${health.requests} requests, ${health.errors} errors`, current: health.requests, unit: 'items' });
        if (firing.length || failing(health) || Date.now() >= until) break;
      }
    } catch (error) {
      throw interrupted(error, percent);
    }
    const step: RolloutStep = { percent, at: new Date().toISOString(), ...health, alarms: firing.map((a) => a.name) };
    report.steps.push(step);
    reporter.line(`version ${to} at ${percent}%: ${health.requests} requests, ${health.errors} errors, ${health.throttles} throttles (error rate ${pct(health.errorRate)})`);
    if (firing.length || failing(health)) {
      // Not abortable: an interruption now must not leave the failing version its share.
      await pointAlias(clients, functionName, alias, from);
      report.outcome = 'rolled-back';
      const why = firing.length
        ? `alarm ${firing.map((a) => `${a.name}${a.reason ? ` (${a.reason})` : ''}`).join(', ')} went into ALARM`
        : `${health.errors + health.throttles} of its ${health.requests + health.throttles} requests failed (${pct(health.errorRate)}, above release.maxErrorRate ${pct(release.maxErrorRate)}; ` +
          `${health.errors} errors, ${health.throttles} throttles)`;
      throw new PipeError('ROLLOUT_ROLLED_BACK', `Version ${to} was rolled back at ${percent}% of live's traffic: ${why}. Live serves version ${from} only`, {
        hint: `Version ${to} stays on the candidate alias for inspection (\`npx pipe logs\`); fix it and deploy again.`,
        details: report,
      });
    }
  }
  await pointAlias(clients, functionName, alias, to, signal);
  reporter.line(`live: 100% to version ${to}`);
  if (health.requests + health.throttles < release.minRequests) {
    reporter.line(
      `only ${health.requests + health.throttles} requests reached version ${to} during the rollout (release.minRequests is ${release.minRequests}): its error rate was not judged`,
      'warn',
    );
  }
  return report;
}

