import type { Writable } from 'node:stream';
import { EXIT } from '../errors.js';
import type { ErrorSummary, Reporter, RunReport, StepReporter, TaskReport } from './reporter.js';

/**
 * `--json`: progress goes to the wrapped human reporter (on stderr), and one JSON document, the run's
 * summary, is printed on stdout at the end: after a usage or config error and an interrupt too
 * (`ok: false` and the error's code, message and hint), and before a second interrupt ends the process.
 */
export class JsonReporter implements Reporter {
  private readonly printed: string[] = [];
  private readonly done: TaskReport[] = [];
  /** The summary is written once, whichever way the run ends. */
  private written = false;

  constructor(
    private readonly inner: Reporter,
    private readonly out: Writable,
  ) {}

  planned(tasks: readonly { name: string; action: 'run' | 'skip'; reason: string }[]): void {
    this.inner.planned(tasks);
  }
  taskStarted(name: string, reason: string): StepReporter {
    return this.inner.taskStarted(name, reason);
  }
  taskSkipped(name: string, reason: string): void {
    this.inner.taskSkipped(name, reason);
  }
  taskFinished(report: TaskReport): void {
    this.done.push(report);
    this.inner.taskFinished(report);
  }
  notice(text: string): void {
    this.inner.notice(text);
  }
  print(text: string): void {
    this.printed.push(text);
  }
  async finished(report: RunReport): Promise<void> {
    if (this.written) return;
    this.written = true;
    try {
      await this.inner.finished(report);
    } finally {
      this.writeSummary(report);
    }
  }

  exiting(error: ErrorSummary, durationMs: number): void {
    if (this.written) return;
    this.written = true;
    this.writeSummary({ ok: false, exitCode: EXIT.interrupted, durationMs, tasks: this.done, error });
  }

  private writeSummary(report: RunReport): void {
    const tasks = report.tasks.map(({ cause: _cause, markdown: _markdown, ...task }) => task);
    const doc = { ...report, tasks, ...(this.printed.length ? { output: this.printed } : {}) };
    this.out.write(`${JSON.stringify(doc, null, 2)}\n`);
  }
}
