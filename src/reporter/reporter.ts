/**
 * The reporter is the only way tasks talk to the user. The executor opens one `StepReporter` per task;
 * a task may open nested steps. Renderers (listr2 on a TTY, plain lines in CI, JSON, a recording one for
 * tests) implement `Reporter`.
 */
export type TaskOutcome = 'succeeded' | 'skipped' | 'failed' | 'cancelled';

export interface ProgressUpdate {
  /** What is moving: "layer 3a4f", "upload function.zip". */
  label: string;
  current: number;
  /** Unknown total: undefined. */
  total?: number;
  unit: 'bytes' | 'items';
  /** Items (or bytes) per second so far, when the step measures it. */
  rate?: number;
  /** Estimated milliseconds left, when the step can tell. */
  etaMs?: number;
}

export interface StepReporter {
  /** One line of output of the running step (a command's stdout/stderr, or a note). */
  line(text: string, stream?: 'stdout' | 'stderr' | 'info' | 'warn'): void;
  progress(update: ProgressUpdate): void;
  /** A nested step; finish it with `done` or `fail`. */
  step(title: string): StepReporter;
  /** Closes a nested step. */
  done(summary?: string): void;
  fail(error: unknown): void;
}

/** An error as reports carry it; `file`/`line` when it points into a file (a config error). */
export interface ErrorSummary {
  code: string;
  message: string;
  hint?: string;
  /** A failed command: the command as run. */
  command?: string;
  /** A failed command or function: the last lines of its stderr, apart from the message. */
  stderrTail?: string[];
  /** Absolute path. */
  file?: string;
  line?: number;
  column?: number;
  /** Structured facts of the failure, for --json (a rolled-back rollout's steps). */
  details?: unknown;
}

export interface TaskReport {
  name: string;
  outcome: TaskOutcome;
  /** In a dry run: what the plan would do. */
  wouldRun?: boolean;
  /** Why it ran or was skipped, in words. */
  reason: string;
  durationMs: number;
  /** Short result line (a URL, sizes) when the task has one. */
  summary?: string;
  /** The URL the task deployed or serves. */
  url?: string;
  /** Bytes of archives the task uploaded. */
  bytesUploaded?: number;
  /** The task's own Markdown section for the CI step summary. */
  markdown?: string;
  /** What the task found, as data (the `--json` document's). */
  data?: Record<string, unknown>;
  /** The exit code a task that succeeded asks the run for (3: an alarm), see TaskResult. */
  exitCode?: number;
  error?: ErrorSummary;
  /**
   * The error a failed task threw, as thrown: its stack for --verbose and for faults in pipe itself.
   * Left out of the JSON document, which has `error`.
   */
  cause?: unknown;
}

export interface RunReport {
  ok: boolean;
  exitCode: number;
  durationMs: number;
  tasks: TaskReport[];
  error?: ErrorSummary;
}

export interface Reporter {
  /** The plan is known: every task about to be considered, in order. */
  planned(tasks: readonly { name: string; action: 'run' | 'skip'; reason: string }[]): void;
  taskStarted(name: string, reason: string): StepReporter;
  taskSkipped(name: string, reason: string): void;
  taskFinished(report: TaskReport): void;
  /** A message outside any task (waiting for the lock, interrupted). */
  notice(text: string): void;
  /** Output meant for the user's eyes or pipes (a served URL, an invoke response), not progress. */
  print(text: string, task?: string): void;
  /** The run is over; renderers flush and print the summary. */
  finished(report: RunReport): Promise<void>;
  /**
   * The process exits now, without finishing the run (a second interrupt): a reporter whose summary
   * someone parses writes it at once, synchronously, with the tasks finished so far.
   */
  exiting?(error: ErrorSummary, durationMs: number): void;
}
