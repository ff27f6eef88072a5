import type { ProgressUpdate } from './reporter.js';

/**
 * Lets progress through at most once per `intervalMs` for each key (a label, a step), and always the
 * update that reaches the total, so a log stays readable and still shows where each transfer ended.
 */
export class ProgressThrottle {
  private readonly last = new Map<string, number>();

  constructor(private readonly intervalMs: number) {}

  admit(key: string, update: ProgressUpdate, now = Date.now()): boolean {
    const finished = update.total !== undefined && update.current >= update.total;
    if (!finished && now - (this.last.get(key) ?? 0) < this.intervalMs) return false;
    this.last.set(key, now);
    return true;
  }
}
