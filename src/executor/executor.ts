import { existsSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedConfig } from '../config/resolved.js';
import { CommandError, ConfigError, EXIT, InterruptedError, PipeError, exitCodeOf, isAbortError } from '../errors.js';
import { combineFingerprint, hashConfigSlice, hashInputs, type FingerprintParts } from '../fingerprint/fingerprint.js';
import { StateStore } from '../fingerprint/state-store.js';
import { analyzeGraph } from '../graph/graph.js';
import { planRun, type PlanInput, type PlannedTask } from '../plan/plan.js';
import { formatProgress } from '../reporter/format.js';
import { ProgressThrottle } from '../reporter/progress-throttle.js';
import type { ErrorSummary, Reporter, RunReport, StepReporter, TaskReport } from '../reporter/reporter.js';
import type { Runner } from '../runners/runner.js';
import type { TaskDefinition, TaskIo } from '../task.js';
import { promote } from '../util/atomic.js';
import { acquireProjectLock, type ProjectLock } from './lock.js';

export interface RunOptions {
  config: ResolvedConfig;
  tasks: readonly TaskDefinition[];
  requested: readonly string[];
  options: Readonly<Record<string, unknown>>;
  reporter: Reporter;
  signal: AbortSignal;
  io: TaskIo;
  /** Creates the build runner, not yet prepared; called at most once per run, only if a task needs it. */
  createRunner: () => Promise<Runner>;
  force?: boolean;
  dryRun?: boolean;
}

const isCacheable = (task: TaskDefinition): boolean => Boolean(task.inputs && task.outputs);

/** The stderr tail a failed command or function keeps apart from its message. */
function stderrTailOf(error: PipeError): string[] | undefined {
  const tail = (error as { stderrTail?: unknown }).stderrTail;
  return Array.isArray(tail) && tail.length ? tail.map(String) : undefined;
}

export function errorSummary(error: unknown): ErrorSummary {
  if (error instanceof ConfigError && error.location) {
    const { file, line, column } = error.location;
    return { code: error.code, message: error.message, hint: error.hint, file, ...(line === undefined ? {} : { line }), ...(column === undefined ? {} : { column }) };
  }
  if (error instanceof PipeError) {
    const stderrTail = stderrTailOf(error);
    return {
      code: error.code, message: error.message, hint: error.hint,
      ...(error instanceof CommandError ? { command: error.command } : {}),
      ...(stderrTail ? { stderrTail } : {}),
      ...(error.details === undefined ? {} : { details: error.details }),
    };
  }
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

/** The error of an interrupted run, naming the signal when there was one. */
export function interruptedSummary(signal: AbortSignal): ErrorSummary {
  return errorSummary(new InterruptedError(`Interrupted${signalOf(signal)}`));
}

/** The summary of a run a second signal ended at once, before the first one had stopped it cleanly. */
export function forcedExitSummary(signal: AbortSignal, second: string): ErrorSummary {
  return {
    code: 'INTERRUPTED',
    message: `Interrupted${signalOf(signal)}, then stopped at once by a second ${second}`,
    hint: 'Stopped without cleaning up: the task that was running may have left part of its output and recorded ' +
      'nothing, so the next run does it again; containers it started may still run (docker ps --filter ' +
      'label=dev.pipe.project).',
  };
}

function signalOf(signal: AbortSignal): string {
  return signal.reason instanceof Error && /^SIG[A-Z]+$/.test(signal.reason.message) ? ` by ${signal.reason.message}` : '';
}

/** Preflight checks of the given tasks, run together; a failure is reported in task order, the same every run. */
async function runPreflights(tasks: readonly TaskDefinition[], opts: RunOptions): Promise<void> {
  const results = await Promise.allSettled(
    tasks.map((t) => t.preflight?.({ config: opts.config, options: opts.options, signal: opts.signal })),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * The run's build runner: created once when first needed; identified (read-only) for the plan, and
 * prepared (image pulled, Python checked) as a run-level step before a task gets it. A dry run only
 * identifies.
 */
class RunRunner {
  private created?: Promise<Runner>;
  private identity?: Promise<{ tools: Record<string, string>; ready: boolean }>;
  private preparing?: Promise<Runner>;

  constructor(
    private readonly create: () => Promise<Runner>,
    private readonly reporter: Reporter,
    private readonly signal: AbortSignal,
  ) {}

  get(): Promise<Runner> {
    return (this.created ??= this.create());
  }

  identify(): Promise<{ tools: Record<string, string>; ready: boolean }> {
    return (this.identity ??= this.get().then((r) => r.identify(this.signal)));
  }

  /** Prepares the runner once; its progress (an image pull) is shown outside any task. */
  prepared(): Promise<Runner> {
    this.preparing ??= this.get().then(async (runner) => {
      await runner.prepare({ reporter: runLevelStep(this.reporter), signal: this.signal });
      this.identity = undefined;
      return runner;
    });
    return this.preparing;
  }

  async dispose(): Promise<void> {
    if (this.created) await this.created.then((r) => r.dispose(), () => undefined);
  }
}

/** A step reporter for work outside any task: lines as notices, progress throttled to a line per label every two seconds. */
function runLevelStep(reporter: Reporter): StepReporter {
  const throttle = new ProgressThrottle(2000);
  const step: StepReporter = {
    line: (text) => reporter.notice(text),
    progress: (update) => {
      if (throttle.admit(update.label, update)) reporter.notice(formatProgress(update));
    },
    step: () => step,
    done() {},
    fail() {},
  };
  return step;
}

/** Where a task keeps its stored state and its outputs. */
interface TaskPlace {
  stateName: string;
  outputs: readonly string[];
}

/** A `perEnvironment` task (env) has a place per runner environment: switching runner back finds it. */
async function placeOf(task: TaskDefinition, opts: RunOptions, runner: RunRunner): Promise<TaskPlace> {
  if (!task.perEnvironment) return { stateName: task.name, outputs: task.outputs?.(opts.config) ?? [] };
  const { envKey } = await runner.get();
  return { stateName: `${task.name}@${envKey}`, outputs: task.outputs?.(opts.config, envKey) ?? [] };
}

/** Gathers what the planner needs: fingerprints of every task in order (dependencies first). */
async function gatherPlanInputs(
  order: readonly TaskDefinition[],
  opts: RunOptions,
  store: StateStore,
  runner: RunRunner,
): Promise<PlanInput[]> {
  const { config } = opts;
  const fingerprints = new Map<string, string>();
  const inputs: PlanInput[] = [];
  for (const task of order) {
    const requested = opts.requested.includes(task.name);
    if (!isCacheable(task)) {
      inputs.push({ name: task.name, dependencies: task.dependencies, cacheable: false, requested, missingOutputs: [] });
      continue;
    }
    const place = await placeOf(task, opts, runner);
    const stored = await store.read(place.stateName);
    const tools = task.usesRunner ? (await runner.identify()).tools : {};
    const parts: FingerprintParts = {
      files: await hashInputs(config.root, task.inputs!(config), stored?.parts.files),
      config: hashConfigSlice(task.configSlice?.(config)),
      tools,
      dependencies: Object.fromEntries(task.dependencies.map((d) => [d, fingerprints.get(d) ?? 'always-runs'])),
    };
    const fingerprint = combineFingerprint(task.name, parts);
    fingerprints.set(task.name, fingerprint);
    const missingOutputs = place.outputs.filter((o) => !existsSync(path.join(config.root, o)));
    inputs.push({ name: task.name, dependencies: task.dependencies, cacheable: true, requested, fingerprint, parts, stored, missingOutputs });
  }
  return inputs;
}

async function mtimes(root: string, outputs: readonly string[]): Promise<Map<string, number | undefined>> {
  const result = new Map<string, number | undefined>();
  for (const output of outputs) {
    result.set(output, await stat(path.join(root, output)).then((s) => s.mtimeMs, () => undefined));
  }
  return result;
}

/**
 * Runs the requested tasks and their stale dependencies. Each task runs once (its promise is shared by
 * its dependents), independent tasks run concurrently, and a task's state is written only after it
 * succeeded and its staged outputs were promoted. Only this module touches the state and the lock.
 */
export async function executeRun(opts: RunOptions): Promise<RunReport> {
  const started = Date.now();
  const { config, reporter } = opts;
  const order = analyzeGraph(opts.tasks, opts.requested);
  // Options are the user's to fix: checked before anything is locked, planned or built (exit 2).
  for (const task of order) if (opts.requested.includes(task.name)) task.checkOptions?.(opts.options);
  // Tasks that always run are checked before planning, which may pull a build image.
  if (!opts.dryRun) await runPreflights(order.filter((t) => !isCacheable(t)), opts);
  const store = StateStore.forProject(config.root);
  const runner = new RunRunner(opts.createRunner, reporter, opts.signal);

  let lock: ProjectLock | undefined;
  const reports = new Map<string, TaskReport>();
  try {
    const byName = new Map(order.map((t) => [t.name, t]));
    // The lock is taken before planning: a run that waited must see what the run before it did.
    const needsLock = opts.dryRun ? [] : order.filter((t) => !t.explicitOnly).map((t) => t.name);
    if (needsLock.length) {
      lock = await acquireProjectLock({ root: config.root, tasks: [...opts.requested], signal: opts.signal, onWait: (m) => reporter.notice(m) });
    }
    let planInputs = await gatherPlanInputs(order, opts, store, runner);
    let plan = planRun(planInputs, { force: Boolean(opts.force) });
    if (opts.dryRun) {
      reporter.planned(plan);
      const tasks = plan.map((p): TaskReport => ({ name: p.name, outcome: 'skipped', wouldRun: p.action === 'run', reason: `dry run: ${p.reason}`, durationMs: 0 }));
      return { ok: true, exitCode: EXIT.ok, durationMs: Date.now() - started, tasks };
    }
    const toRun = plan.filter((p) => p.action === 'run').map((p) => byName.get(p.name)!);
    await runPreflights(toRun.filter(isCacheable), opts);
    if (toRun.some((t) => t.usesRunner)) {
      const { ready } = await runner.identify();
      await runner.prepared();
      // The plan saw an image that was not there yet: fingerprint with the pulled one, which is what
      // the tasks build with and what their state must record.
      if (!ready) {
        planInputs = await gatherPlanInputs(order, opts, store, runner);
        plan = planRun(planInputs, { force: Boolean(opts.force) });
      }
    }
    reporter.planned(plan);
    let lockedRemaining = needsLock.length;
    const releaseWhenDone = async (name: string): Promise<void> => {
      if (needsLock.includes(name) && --lockedRemaining === 0) await lock?.release();
    };

    const running = new Map<string, Promise<TaskReport>>();
    const runOne = (planned: PlannedTask): Promise<TaskReport> => {
      const existing = running.get(planned.name);
      if (existing) return existing;
      const promise = (async (): Promise<TaskReport> => {
        const task = byName.get(planned.name)!;
        const deps = await Promise.all(task.dependencies.map((d) => runOne(plan.find((p) => p.name === d)!)));
        const blocked = deps.find((d) => d.outcome === 'failed' || d.outcome === 'cancelled');
        let report: TaskReport;
        if (blocked || opts.signal.aborted) {
          const reason = opts.signal.aborted ? 'interrupted' : `not run: dependency ${blocked!.name} ${blocked!.outcome}`;
          report = { name: task.name, outcome: 'cancelled', reason, durationMs: 0 };
          reporter.taskFinished(report);
        } else if (planned.action === 'skip') {
          report = { name: task.name, outcome: 'skipped', reason: planned.reason, durationMs: 0 };
          reporter.taskSkipped(task.name, planned.reason);
        } else {
          report = await runTask(task, planned, planInputs.find((i) => i.name === task.name)!, opts, store, runner);
          reporter.taskFinished(report);
        }
        reports.set(task.name, report);
        await releaseWhenDone(task.name);
        return report;
      })();
      running.set(planned.name, promise);
      return promise;
    };
    await Promise.all(plan.map(runOne));
    const tasks = order.map((t) => reports.get(t.name)!);
    const failed = tasks.find((t) => t.outcome === 'failed');
    const interrupted = opts.signal.aborted || tasks.some((t) => t.outcome === 'cancelled' && t.reason === 'interrupted');
    const alarm = tasks.find((t) => t.outcome === 'succeeded' && t.exitCode === EXIT.alarm);
    const exitCode = interrupted ? EXIT.interrupted : failed ? exitCodeOf(failed.cause) : alarm ? EXIT.alarm : EXIT.ok;
    const error = interrupted ? interruptedSummary(opts.signal) : failed?.error;
    return { ok: exitCode === 0, exitCode, durationMs: Date.now() - started, tasks, ...(error ? { error } : {}) };
  } finally {
    await lock?.release();
    await runner.dispose();
  }
}

async function runTask(
  task: TaskDefinition,
  planned: PlannedTask,
  input: PlanInput,
  opts: RunOptions,
  store: StateStore,
  runner: RunRunner,
): Promise<TaskReport> {
  const { config } = opts;
  const started = Date.now();
  const step = opts.reporter.taskStarted(task.name, planned.reason);
  const { stateName, outputs } = await placeOf(task, opts, runner);
  const staged = new Map<string, string>();
  if (input.cacheable) await store.forget(stateName);
  const before = await mtimes(config.root, outputs);
  try {
    const result = await task.run({
      name: task.name,
      config,
      root: config.root,
      options: opts.options,
      reporter: step,
      signal: opts.signal,
      io: { ...opts.io, print: (text) => opts.reporter.print(text, task.name) },
      runner: () => runner.prepared(),
      staging(output: string) {
        const final = path.resolve(config.root, output);
        const tmp = `${final}.pipe-staging`;
        staged.set(final, tmp);
        return tmp;
      },
    });
    if (opts.signal.aborted) throw new InterruptedError();
    for (const [final, tmp] of staged) if (existsSync(tmp)) await promote(tmp, final);
    if (input.cacheable) {
      // Outputs the task wrote are not inputs, but files hashed before the run may have been rewritten.
      await store.write(stateName, { fingerprint: input.fingerprint!, parts: input.parts!, finishedAt: new Date().toISOString() });
    }
    return {
      name: task.name, outcome: 'succeeded', reason: planned.reason, durationMs: Date.now() - started, summary: result?.summary,
      ...(result?.url === undefined ? {} : { url: result.url }),
      ...(result?.bytesUploaded === undefined ? {} : { bytesUploaded: result.bytesUploaded }),
      ...(result?.markdown === undefined ? {} : { markdown: result.markdown }),
      ...(result?.data === undefined ? {} : { data: result.data }),
      ...(result?.exitCode === undefined ? {} : { exitCode: result.exitCode }),
    };
  } catch (error) {
    for (const tmp of staged.values()) await rm(tmp, { recursive: true, force: true });
    // A failed task's outputs cannot be trusted: remove those it touched (others are left as they were).
    const after = await mtimes(config.root, outputs);
    for (const output of outputs) {
      if (after.get(output) !== undefined && after.get(output) !== before.get(output)) {
        await rm(path.join(config.root, output), { recursive: true, force: true });
      }
    }
    const interrupted = opts.signal.aborted || isAbortError(error);
    const report: TaskReport = {
      name: task.name,
      outcome: interrupted ? 'cancelled' : 'failed',
      reason: interrupted ? 'interrupted' : planned.reason,
      durationMs: Date.now() - started,
      error: errorSummary(interrupted ? (error instanceof InterruptedError ? error : new InterruptedError()) : error),
      ...(interrupted ? {} : { cause: error }),
    };
    if (!interrupted) step.fail(error);
    return report;
  }
}
