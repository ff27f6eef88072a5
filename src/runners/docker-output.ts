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
