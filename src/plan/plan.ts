import type { FingerprintParts } from '../fingerprint/fingerprint.js';

/** What the planner knows of one task; gathered by the executor, judged here without any I/O. */
export interface PlanInput {
  name: string;
  dependencies: readonly string[];
  /** Inputs and outputs declared: the task can be skipped. */
  cacheable: boolean;
  /** Asked for by the user (as opposed to pulled in as a dependency). */
  requested: boolean;
  fingerprint?: string;
  parts?: FingerprintParts;
  stored?: { fingerprint: string; parts: FingerprintParts };
  /** Declared outputs that do not exist. */
  missingOutputs: readonly string[];
}

export interface PlannedTask {
  name: string;
  action: 'run' | 'skip';
  reason: string;
  fingerprint?: string;
}

const list = (items: readonly string[], max = 3): string =>
  items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;

/** Says in words what differs between the last successful run and now. */
export function describeChange(before: FingerprintParts, now: FingerprintParts): string {
  const reasons: string[] = [];
  const changed: string[] = [];
  for (const [file, h] of Object.entries(now.files)) {
    const old = before.files[file];
    if (!old) changed.push(`${file} (new)`);
    else if (old.hash !== h.hash) changed.push(file);
  }
  for (const file of Object.keys(before.files)) if (!(file in now.files)) changed.push(`${file} (deleted)`);
  if (changed.length) reasons.push(`inputs changed: ${list(changed)}`);
  if (before.config !== now.config) reasons.push('configuration changed');
  const tools = [...new Set([...Object.keys(before.tools), ...Object.keys(now.tools)])].filter((k) => before.tools[k] !== now.tools[k]);
  if (tools.length) reasons.push(`tool versions changed: ${list(tools)}`);
  const deps = Object.keys(now.dependencies).filter((d) => before.dependencies[d] !== now.dependencies[d]);
  if (deps.length) reasons.push(`dependency changed: ${list(deps)}`);
  return reasons.length ? reasons.join('; ') : 'fingerprint changed';
}

/**
 * Decides, for tasks in dependency order, which run and why. A task runs when it is forced, declares no
 * inputs/outputs, never succeeded, its fingerprint changed, an output is missing, or a dependency runs.
 */
export function planRun(tasks: readonly PlanInput[], options: { force: boolean }): PlannedTask[] {
  const actions = new Map<string, 'run' | 'skip'>();
  return tasks.map((task) => {
    const decide = (): { action: 'run' | 'skip'; reason: string } => {
      if (options.force && task.requested) return { action: 'run', reason: 'forced (--force)' };
      if (!task.cacheable) return { action: 'run', reason: 'always runs (no inputs/outputs declared)' };
      const runningDeps = task.dependencies.filter((d) => actions.get(d) === 'run');
      if (!task.stored) return { action: 'run', reason: 'no previous successful run' };
      if (task.stored.fingerprint !== task.fingerprint) return { action: 'run', reason: describeChange(task.stored.parts, task.parts!) };
      if (task.missingOutputs.length) return { action: 'run', reason: `output missing: ${list(task.missingOutputs)}` };
      if (runningDeps.length) return { action: 'run', reason: `dependency runs: ${list(runningDeps)}` };
      return { action: 'skip', reason: 'up to date' };
    };
    const { action, reason } = decide();
    actions.set(task.name, action);
    return { name: task.name, action, reason, fingerprint: task.fingerprint };
  });
}
