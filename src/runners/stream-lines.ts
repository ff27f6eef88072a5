/**
 * Splits a byte stream into complete lines as it arrives, keeping the last `tailSize` lines, so a
 * failing command can be reported with the end of its stderr.
 */
export class LineSplitter {
  private partial = '';
  readonly tail: string[] = [];

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly tailSize = 20,
  ) {}

  push(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const lines = text.split(/\r?\n/);
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.emit(line);
  }

  flush(): void {
    if (this.partial) this.emit(this.partial);
    this.partial = '';
  }

  private emit(line: string): void {
    this.tail.push(line);
    if (this.tail.length > this.tailSize) this.tail.shift();
    this.onLine(line);
  }
}
