import { Listr, type ListrDefaultRenderer, type ListrSimpleRenderer, type ListrTaskWrapper } from 'listr2';
import type { ProgressUpdate, Reporter, RunReport, StepReporter, TaskReport } from './reporter.js';
import { errorMessage, formatDuration, formatProgress } from './format.js';
import { ProgressThrottle } from './progress-throttle.js';

type Wrapper = ListrTaskWrapper<unknown, ListrDefaultRenderer, ListrSimpleRenderer>;
type Outcome = { skip?: string; error?: string; summary?: string; duration?: string };

/** One row of the display: a task's status line, the lines it printed for the user, its live output. */
class Row {
  private wrapper?: Wrapper;
  private status: string;
  private readonly printed: string[] = [];
  private settle!: (outcome: Outcome) => void;
  readonly outcome = new Promise<Outcome>((resolve) => (this.settle = resolve));

  constructor(readonly name: string) {
    this.status = `${name} (waiting)`;
  }

  attach(wrapper: Wrapper): void {
    this.wrapper = wrapper;
    this.render();
  }

  /** The status line; lines printed for the user (a URL, a response) stay under it, always visible. */
  setStatus(status: string): void {
    this.status = status;
    this.render();
  }

  print(text: string): void {
    this.printed.push(...text.split('\n'));
    this.render();
  }

  output(text: string): void {
    if (this.wrapper) this.wrapper.output = text;
  }

  finish(outcome: Outcome): void {
    this.settle(outcome);
  }

  private render(): void {
    if (this.wrapper) this.wrapper.title = [this.status, ...this.printed.map((l) => `    ${l}`)].join('\n');
  }
}

/**
 * The TTY renderer: listr2 draws one row per planned task (spinner, live output of the running step,
 * durations). Listr runs each row as a promise that the executor's events settle, so the executor keeps
 * sole control of ordering and concurrency. listr2 holds back other writes to stdout while it draws, so
 * whatever a task prints for the user is shown in its row.
 */
export class ListrReporter implements Reporter {
  private readonly rows = new Map<string, Row>();
  private listr?: Promise<unknown>;
  private readonly notices: string[] = [];

  planned(tasks: readonly { name: string; action: 'run' | 'skip'; reason: string }[]): void {
    const items = tasks.map((planned) => {
      const row = new Row(planned.name);
      this.rows.set(planned.name, row);
      return {
        title: planned.name,
        task: async (_ctx: unknown, wrapper: Wrapper) => {
          row.attach(wrapper);
          const outcome = await row.outcome;
          if (outcome.skip !== undefined) {
            row.setStatus(planned.name);
            wrapper.skip(`${planned.name}: ${outcome.skip}`);
            return;
          }
          if (outcome.error !== undefined) throw new Error(`${planned.name}: ${outcome.error}`);
          row.setStatus(`${planned.name} [${outcome.duration}]${outcome.summary ? `: ${outcome.summary}` : ''}`);
        },
        rendererOptions: { persistentOutput: true, outputBar: 8 },
      };
    });
    this.listr = new Listr(items, {
      concurrent: true,
      exitOnError: false,
      // The CLI owns SIGINT (stop steps, release the lock, exit 130); listr2's own handler exits 127.
      registerSignalListeners: false,
      rendererOptions: { collapseSkips: true, collapseErrors: false, showErrorMessage: true },
    })
      .run()
      .catch(() => undefined);
  }

  taskStarted(name: string, reason: string): StepReporter {
    const row = this.rows.get(name)!;
    row.setStatus(`${name} (${reason})`);
    return this.stepReporter(row, name);
  }

  private stepReporter(row: Row, title: string, parent?: string): StepReporter {
    const started = Date.now();
    const throttle = new ProgressThrottle(100);
    return {
      line: (text) => row.output(text),
      // Progress rewrites the status in place (at most ten times a second) instead of adding output lines.
      progress: (update: ProgressUpdate) => {
        if (!throttle.admit(title, update)) return;
        row.setStatus(`${title} (${formatProgress(update)})`);
      },
      step: (sub: string) => {
        row.setStatus(`${title} › ${sub}`);
        return this.stepReporter(row, `${title} › ${sub}`, title);
      },
      done: (summary?: string) => {
        row.output(`${title}: done in ${formatDuration(Date.now() - started)}${summary ? ` (${summary})` : ''}`);
        if (parent) row.setStatus(parent);
      },
      fail: (error: unknown) => row.output(`${title}: ${errorMessage(error)}`),
    };
  }

  taskSkipped(name: string, reason: string): void {
    this.rows.get(name)?.finish({ skip: reason });
  }

  taskFinished(report: TaskReport): void {
    const row = this.rows.get(report.name);
    switch (report.outcome) {
      case 'succeeded':
        row?.finish({ summary: report.summary, duration: formatDuration(report.durationMs) });
        break;
      case 'failed':
        row?.finish({ error: report.error?.message ?? 'failed' });
        break;
      case 'cancelled':
      case 'skipped':
        row?.finish({ skip: report.reason });
        break;
      default: {
        const never: never = report.outcome;
        throw new Error(`unknown outcome ${String(never)}`);
      }
    }
  }

  notice(text: string): void {
    if (this.listr) this.notices.push(text);
    else process.stderr.write(`${text}\n`);
  }

  print(text: string, task?: string): void {
    const row = task ? this.rows.get(task) : undefined;
    if (row) row.print(text);
    else process.stdout.write(`${text}\n`);
  }

  async finished(report: RunReport): Promise<void> {
    if (!this.listr) return;
    for (const row of this.rows.values()) row.finish({ skip: 'not run' });
    await this.listr;
    for (const n of this.notices) process.stderr.write(`${n}\n`);
    const ran = report.tasks.filter((t) => t.outcome === 'succeeded').length;
    const skipped = report.tasks.filter((t) => t.outcome === 'skipped').length;
    process.stdout.write(`${report.ok ? 'done' : 'stopped'}: ${ran} ran, ${skipped} skipped in ${formatDuration(report.durationMs)}\n`);
  }
}
