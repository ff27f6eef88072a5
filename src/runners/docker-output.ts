import { StringDecoder } from 'node:string_decoder';

export type OutputStream = 'stdout' | 'stderr';

/**
 * Splits the multiplexed stream of an attached, non-TTY container (8-byte frame headers: stream type,
 * payload length) into stdout/stderr chunks, in the order the engine sent them, so interleaved lines keep
 * their order. `dockerode`'s demuxStream writes to two separate streams, which loses that order.
 */
export class FrameDemuxer {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly onChunk: (stream: OutputStream, chunk: Buffer) => void) {}

  push(data: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, data]) : data;
    while (this.buffer.length >= 8) {
      const type = this.buffer.readUInt8(0);
      const length = this.buffer.readUInt32BE(4);
      if (this.buffer.length < 8 + length) return;
      const payload = this.buffer.subarray(8, 8 + length);
      this.buffer = this.buffer.subarray(8 + length);
      // Type 0 (stdin) is never sent back; anything but stderr is program output.
      this.onChunk(type === 2 ? 'stderr' : 'stdout', payload);
    }
  }
}

/** Cuts one stream's chunks into complete lines (UTF-8 safe across chunk borders); `end` flushes the rest. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer): void {
    this.pending += this.decoder.write(chunk);
    let newline = this.pending.indexOf('\n');
    while (newline >= 0) {
      this.onLine(stripCarriageReturn(this.pending.slice(0, newline)));
      this.pending = this.pending.slice(newline + 1);
      newline = this.pending.indexOf('\n');
    }
  }

  end(): void {
    this.pending += this.decoder.end();
    if (this.pending) this.onLine(stripCarriageReturn(this.pending));
    this.pending = '';
  }
}

function stripCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** Keeps the last `size` lines of a stream: the stderr tail of a failed command. */
export class LineTail {
  private readonly lines: string[] = [];

  constructor(private readonly size = 20) {}

  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.size) this.lines.shift();
  }

  get(): string[] {
    return [...this.lines];
  }
}
