import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { EXIT } from '../errors.js';
import { errorMessage } from './format.js';
import { PlainReporter, type TextSink } from './plain-reporter.js';
import type { ErrorSummary, Reporter, RunReport, StepReporter, TaskReport } from './reporter.js';
import { stepSummaryMarkdown } from './step-summary.js';
import { TaskGroups } from './task-groups.js';
import { annotation, type AnnotationLevel } from './workflow-commands.js';

export interface GithubActionsReporterOptions {
  out: TextSink;
  /** Heading of the step summary, e.g. `pipe deploy`. */
  title: string;
  /** Annotations and the summary name files relative to this (GITHUB_WORKSPACE). */
  workspace: string;
  /** `$GITHUB_STEP_SUMMARY`: the Markdown summary is appended to it when set. */
  stepSummaryFile?: string;
  dryRun?: boolean;
}

const lines = (text: string): string[] => text.replace(/\n$/, '').split('\n');

/** A sink that hands each written line to `line`. */
const lineSink = (line: (text: string) => void): TextSink => ({ write: (text) => lines(text).forEach(line) });

/**
 * The plain renderer's lines, shaped for GitHub Actions: each task's log in a `::group::` with its outcome
 * line after it, failures as `::error` annotations (on the config file's line for a config error), and
 * the run summary appended to `$GITHUB_STEP_SUMMARY` as Markdown.
 */
export class GithubActionsReporter implements Reporter {
  private readonly groups: TaskGroups;
  /** Lines outside any task: the plan, skips, notices, the final count. */
  private readonly outside: PlainReporter;
  private readonly running = new Set<string>();
  private done = false;

  constructor(private readonly opts: GithubActionsReporterOptions) {
    this.groups = new TaskGroups((line) => opts.out.write(`${line}\n`));
    this.outside = new PlainReporter(lineSink((l) => this.groups.outside(l)), { dryRun: opts.dryRun });
  }

  planned(tasks: readonly { name: string; action: 'run' | 'skip'; reason: string }[]): void {
    this.outside.planned(tasks);
  }

  taskStarted(name: string, reason: string): StepReporter {
    this.running.add(name);
    this.groups.begin(name, `${name} (${reason})`);
    return new PlainReporter(lineSink((l) => this.groups.line(name, l))).taskStarted(name, reason);
  }

  taskSkipped(name: string, reason: string): void {
    this.outside.taskSkipped(name, reason);
  }

  taskFinished(report: TaskReport): void {
    const after: string[] = [];
    new PlainReporter(lineSink((l) => after.push(l))).taskFinished(report);
    if (report.outcome === 'failed' && report.error) after.push(this.annotate('error', report.error, `pipe: ${report.name} failed`));
    if (this.running.delete(report.name)) this.groups.end(report.name, after);
    else after.forEach((l) => this.groups.outside(l));
  }

  notice(text: string): void {
    this.outside.notice(text);
  }

  print(text: string, task?: string): void {
    if (task !== undefined && this.running.has(task)) lines(text).forEach((l) => this.groups.line(task, l));
    else this.outside.print(text);
  }

  async finished(report: RunReport): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.groups.flush();
    await this.outside.finished(report);
    const shown = report.error?.file ? { ...report, error: { ...report.error, file: this.relative(report.error.file) } } : report;
    // A failed task was annotated when it finished; a run that stopped otherwise is annotated here.
    if (!report.ok && report.error && !report.tasks.some((t) => t.outcome === 'failed')) {
      this.groups.outside(this.annotate(report.exitCode === EXIT.interrupted ? 'warning' : 'error', report.error, `pipe: ${report.error.code}`));
    }
    if (this.opts.stepSummaryFile) {
      try {
        await appendFile(this.opts.stepSummaryFile, stepSummaryMarkdown(shown, this.opts.title));
      } catch (error) {
        this.groups.outside(annotation('warning', `Could not write the step summary to ${this.opts.stepSummaryFile}: ${errorMessage(error)}`));
      }
    }
  }

  private annotate(level: AnnotationLevel, error: ErrorSummary, title: string): string {
    const message = [error.message, ...(error.stderrTail ?? []).map((l) => `  ${l}`), ...(error.hint ? [`hint: ${error.hint}`] : [])].join('\n');
    return annotation(level, message, { title, file: error.file && this.relative(error.file), line: error.line, col: error.column });
  }

  /** A path as the repository names it; one outside the workspace stays absolute. */
  private relative(file: string): string {
    const rel = path.relative(this.opts.workspace, file);
    return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel.split(path.sep).join('/');
  }
}
