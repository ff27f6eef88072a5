import type { ProgressUpdate, Reporter, RunReport, StepReporter, TaskReport } from './reporter.js';
import { errorMessage, formatDuration, formatProgress } from './format.js';
import { ProgressThrottle } from './progress-throttle.js';

/** Where a renderer writes text: a stream (process.stdout), or a buffer in tests and CI groups. */
export interface TextSink {
  write(text: string): unknown;
}

/**
 * One line per event, for CI logs and pipes: every line says which task it belongs to. Progress is
 * throttled to a line per label every few seconds (and the last one), so logs stay readable.
 */
export class PlainReporter implements Reporter {
  private readonly throttle = new ProgressThrottle(2000);
  /** A run stopped before planning (bad task name, cycle) has no summary to print. */
  private started = false;

  constructor(
    private readonly out: TextSink,
    private readonly opts: { dryRun?: boolean } = {},
  ) {}

  private write(text: string): void {
    this.out.write(`${text}\n`);
  }

  planned(tasks: readonly { name: string; action: 'run' | 'skip'; reason: string }[]): void {
    this.started = true;
    if (this.opts.dryRun) {
      const width = Math.max(...tasks.map((t) => t.name.length)) + 2;
      this.write('Plan (dry run: nothing is run or written):');
      tasks.forEach((t, i) => this.write(`  ${i + 1}. ${t.name.padEnd(width)}${t.action === 'run' ? 'run ' : 'skip'}  ${t.reason}`));
      return;
    }
    this.write(`plan: ${tasks.map((t) => `${t.name} (${t.action === 'run' ? 'run' : 'skip'}: ${t.reason})`).join(', ')}`);
  }

  taskStarted(name: string, reason: string): StepReporter {
    this.write(`> ${name}: running (${reason})`);
    return this.stepReporter(name);
  }

  private stepReporter(prefix: string): StepReporter {
    const started = Date.now();
    return {
      line: (text, stream = 'stdout') => {
        const mark = stream === 'stderr' ? '!' : stream === 'warn' ? 'warning:' : '|';
        for (const line of text.split('\n')) this.write(`  ${prefix} ${mark} ${line}`);
      },
      progress: (update: ProgressUpdate) => {
        if (!this.throttle.admit(`${prefix}/${update.label}`, update)) return;
        this.write(`  ${prefix} | ${formatProgress(update)}`);
      },
      step: (title: string) => {
        this.write(`  ${prefix} > ${title}`);
        return this.stepReporter(`${prefix} > ${title}`);
      },
      done: (summary?: string) => {
        this.write(`  ${prefix}: done in ${formatDuration(Date.now() - started)}${summary ? ` (${summary})` : ''}`);
      },
      fail: (error: unknown) => {
        for (const line of errorMessage(error).split('\n')) this.write(`  ${prefix}: failed: ${line}`);
      },
    };
  }

  taskSkipped(name: string, reason: string): void {
    this.write(`- ${name}: skipped (${reason})`);
  }

  taskFinished(report: TaskReport): void {
    switch (report.outcome) {
      case 'succeeded':
        this.write(`ok ${report.name} in ${formatDuration(report.durationMs)}${report.summary ? `: ${report.summary}` : ''}`);
        break;
      case 'failed':
        this.write(`FAILED ${report.name} after ${formatDuration(report.durationMs)}`);
        break;
      case 'cancelled':
        this.write(`- ${report.name}: ${report.reason}`);
        break;
      case 'skipped':
        this.write(`- ${report.name}: skipped (${report.reason})`);
        break;
      default: {
        const never: never = report.outcome;
        throw new Error(`unknown outcome ${String(never)}`);
      }
    }
  }

  notice(text: string): void {
    this.write(text);
  }

  print(text: string): void {
    this.out.write(`${text}\n`);
  }

  async finished(report: RunReport): Promise<void> {
    if (!this.started || (this.opts.dryRun && report.ok)) return;
    const count = (o: TaskReport['outcome']) => report.tasks.filter((t) => t.outcome === o).length;
    const parts = [`${count('succeeded')} ran`, `${count('skipped')} skipped`];
    if (count('failed')) parts.push(`${count('failed')} failed`);
    if (count('cancelled')) parts.push(`${count('cancelled')} not run`);
    this.write(`${report.ok ? 'done' : 'stopped'}: ${parts.join(', ')} in ${formatDuration(report.durationMs)}`);
  }
}
