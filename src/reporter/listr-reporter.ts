import { Listr, type ListrDefaultRenderer, type ListrSimpleRenderer, type ListrTaskWrapper } from 'listr2';
import type { ProgressUpdate, Reporter, RunReport, StepReporter, TaskReport } from './reporter.js';
import { errorMessage, formatDuration, formatProgress } from './format.js';

type Wrapper = ListrTaskWrapper<unknown, ListrDefaultRenderer, ListrSimpleRenderer>;

interface Slot {
  wrapper?: Wrapper;
  ready: Promise<Wrapper>;
  setWrapper(w: Wrapper): void;
  finish: (outcome: { skip?: string; error?: string; summary?: string; duration?: string }) => void;
}

/**
 * The TTY renderer: listr2 draws one row per planned task (spinner, live output of the running step,
 * durations). Listr runs each row as a promise that the executor's events settle, so the executor keeps
 * sole control of ordering and concurrency.
 */
export class ListrReporter implements Reporter {
  private readonly slots = new Map<string, Slot>();
  private listr?: Promise<unknown>;
  private readonly notices: string[] = [];

  planned(tasks: readonly { name: string; action: 'run' | 'skip'; reason: string }[]): void {
    const rows = tasks.map((planned) => {
      let resolveWrapper!: (w: Wrapper) => void;
      let finish!: Slot['finish'];
      const done = new Promise<{ skip?: string; error?: string; summary?: string; duration?: string }>((resolve) => (finish = resolve));
      const slot: Slot = {
        ready: new Promise<Wrapper>((resolve) => (resolveWrapper = resolve)),
        setWrapper: (w) => {
          slot.wrapper = w;
          resolveWrapper(w);
        },
        finish: (o) => finish(o),
      };
      this.slots.set(planned.name, slot);
      return {
        title: `${planned.name}`,
        task: async (_ctx: unknown, wrapper: Wrapper) => {
          slot.setWrapper(wrapper);
          wrapper.title = `${planned.name} (waiting)`;
          const outcome = await done;
          if (outcome.skip !== undefined) {
            wrapper.title = planned.name;
            wrapper.skip(`${planned.name}: ${outcome.skip}`);
            return;
          }
          if (outcome.error !== undefined) throw new Error(`${planned.name}: ${outcome.error}`);
          wrapper.title = `${planned.name} [${outcome.duration}]${outcome.summary ? `: ${outcome.summary}` : ''}`;
        },
        rendererOptions: { persistentOutput: true, outputBar: 8 },
      };
    });
    this.listr = new Listr(rows, {
      concurrent: true,
      exitOnError: false,
      rendererOptions: { collapseSkips: false, collapseErrors: false, showErrorMessage: true },
    }).run().catch(() => undefined);
  }

  taskStarted(name: string, reason: string): StepReporter {
    const slot = this.slots.get(name)!;
    void slot.ready.then((w) => (w.title = `${name} (${reason})`));
    return this.stepReporter(slot, name);
  }

  private stepReporter(slot: Slot, title: string): StepReporter {
    const out = (text: string): void => {
      void slot.ready.then((w) => (w.output = text));
    };
    const started = Date.now();
    let lastProgress = 0;
    return {
      line: (text) => out(text),
      // Progress rewrites the title in place (at most ten times a second) instead of adding output lines.
      progress: (update: ProgressUpdate) => {
        const now = Date.now();
        const finished = update.total !== undefined && update.current >= update.total;
        if (!finished && now - lastProgress < 100) return;
        lastProgress = now;
        void slot.ready.then((w) => (w.title = `${title} (${formatProgress(update)})`));
      },
      step: (sub: string) => {
        void slot.ready.then((w) => (w.title = `${title} › ${sub}`));
        return this.stepReporter(slot, `${title} › ${sub}`);
      },
      done: (summary?: string) => out(`${title}: done in ${formatDuration(Date.now() - started)}${summary ? ` (${summary})` : ''}`),
      fail: (error: unknown) => out(`${title}: ${errorMessage(error).split('\n')[0]}`),
    };
  }

  taskSkipped(name: string, reason: string): void {
    this.slots.get(name)?.finish({ skip: reason });
  }

  taskFinished(report: TaskReport): void {
    const slot = this.slots.get(report.name);
    switch (report.outcome) {
      case 'succeeded':
        slot?.finish({ summary: report.summary, duration: formatDuration(report.durationMs) });
        break;
      case 'failed':
        slot?.finish({ error: report.error?.message.split('\n')[0] ?? 'failed' });
        break;
      case 'cancelled':
      case 'skipped':
        slot?.finish({ skip: report.reason });
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

  print(text: string): void {
    process.stdout.write(`${text}\n`);
  }

  async finished(report: RunReport): Promise<void> {
    for (const slot of this.slots.values()) slot.finish({ skip: 'not run' });
    await this.listr;
    for (const n of this.notices) process.stderr.write(`${n}\n`);
    const ran = report.tasks.filter((t) => t.outcome === 'succeeded').length;
    const skipped = report.tasks.filter((t) => t.outcome === 'skipped').length;
    process.stdout.write(`${report.ok ? 'done' : 'stopped'}: ${ran} ran, ${skipped} skipped in ${formatDuration(report.durationMs)}\n`);
  }
}
