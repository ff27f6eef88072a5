import { GROUP_END, groupStart } from './workflow-commands.js';

interface Pending {
  title: string;
  lines: string[];
  /** Set when the task finished while another one held the log: its lines after the group. */
  after?: string[];
}

/**
 * One `::group::` per task in a log where groups cannot nest or interleave, while tasks run
 * concurrently. The first task to start owns the log and streams live; tasks that start meanwhile are
 * buffered and written as whole groups when the owner finishes, and the next still-running one then
 * takes the log (its buffer first, then live). Lines outside any task wait while a group is open, so they
 * do not land inside it.
 */
export class TaskGroups {
  private owner?: string;
  private readonly pending = new Map<string, Pending>();
  private readonly outsideQueue: string[] = [];

  constructor(private readonly write: (line: string) => void) {}

  begin(task: string, title: string): void {
    if (this.owner === undefined) {
      this.owner = task;
      this.write(groupStart(title));
    } else {
      this.pending.set(task, { title, lines: [] });
    }
  }

  line(task: string, text: string): void {
    const waiting = this.pending.get(task);
    if (task === this.owner) this.write(text);
    else if (waiting) waiting.lines.push(text);
    else this.outside(text);
  }

  /** Closes the task's group; `after` (its outcome, annotations) follows the group, outside it. */
  end(task: string, after: readonly string[]): void {
    if (task !== this.owner) {
      const waiting = this.pending.get(task);
      if (waiting) waiting.after = [...after];
      else for (const text of after) this.outside(text);
      return;
    }
    this.write(GROUP_END);
    for (const text of after) this.write(text);
    this.owner = undefined;
    this.drain();
  }

  /** A line that belongs to no task: written now, or once the open group is closed. */
  outside(text: string): void {
    if (this.owner === undefined) this.write(text);
    else this.outsideQueue.push(text);
  }

  /** Closes whatever is open and writes everything still buffered (the run is over). */
  flush(): void {
    if (this.owner !== undefined) {
      this.write(GROUP_END);
      this.owner = undefined;
    }
    this.drain();
    for (const [task, waiting] of this.pending) {
      this.pending.delete(task);
      this.writeWhole(waiting);
    }
  }

  private drain(): void {
    for (const text of this.outsideQueue.splice(0)) this.write(text);
    for (const [task, waiting] of this.pending) {
      if (waiting.after === undefined) continue;
      this.pending.delete(task);
      this.writeWhole(waiting);
    }
    const next = this.pending.entries().next();
    if (next.done) return;
    const [task, running] = next.value;
    this.pending.delete(task);
    this.owner = task;
    this.write(groupStart(running.title));
    for (const text of running.lines) this.write(text);
  }

  private writeWhole(waiting: Pending): void {
    this.write(groupStart(waiting.title));
    for (const text of waiting.lines) this.write(text);
    this.write(GROUP_END);
    for (const text of waiting.after ?? []) this.write(text);
  }
}
