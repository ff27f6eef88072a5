import type { ProgressUpdate, Reporter, RunReport, StepReporter, TaskReport } from '../../src/reporter/reporter.js';

/** Records every reporter event, for assertions. */
export class RecordingReporter implements Reporter {
  readonly events: string[] = [];
  readonly lines: { task: string; text: string; stream?: string }[] = [];
  readonly reports: TaskReport[] = [];
  plan: { name: string; action: 'run' | 'skip'; reason: string }[] = [];
  printed: string[] = [];
  final?: RunReport;

  planned(tasks: readonly { name: string; action: 'run' | 'skip'; reason: string }[]): void {
    this.plan = [...tasks];
  }
  taskStarted(name: string, reason: string): StepReporter {
    this.events.push(`start ${name}: ${reason}`);
    return this.step(name);
  }
  step(task: string): StepReporter {
    return {
      line: (text, stream) => this.lines.push({ task, text, stream }),
      progress: () => {},
      step: (title) => this.step(`${task} > ${title}`),
      done: () => this.events.push(`done ${task}`),
      fail: () => this.events.push(`fail ${task}`),
    };
  }
  taskSkipped(name: string, reason: string): void {
    this.events.push(`skip ${name}: ${reason}`);
  }
  taskFinished(report: TaskReport): void {
    this.reports.push(report);
    this.events.push(`${report.outcome} ${report.name}`);
  }
  notice(text: string): void {
    this.events.push(`notice ${text}`);
  }
  print(text: string): void {
    this.printed.push(text);
  }
  async finished(report: RunReport): Promise<void> {
    this.final = report;
  }
}

export interface RecordedLine {
  text: string;
  stream?: string;
}

/** A step reporter keeping every line and progress update; `onLine` lets a test react while a step runs. */
export class RecordingStepReporter implements StepReporter {
  readonly lines: RecordedLine[] = [];
  readonly progressUpdates: ProgressUpdate[] = [];
  constructor(private readonly onLine?: (line: RecordedLine) => void) {}
  line(text: string, stream?: 'stdout' | 'stderr' | 'info' | 'warn'): void {
    const entry = { text, stream };
    this.lines.push(entry);
    this.onLine?.(entry);
  }
  progress(update: ProgressUpdate): void {
    this.progressUpdates.push(update);
  }
  step(): StepReporter {
    return this;
  }
  done(): void {}
  fail(): void {}
}
