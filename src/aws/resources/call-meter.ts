/**
 * Counts what a run did to AWS: every API call (and whether it writes) and the artifact bytes uploaded.
 * Deploy prints the totals, tests and the benchmark assert on them ("a no-change deploy writes nothing").
 */
export interface AwsCall {
  service: string;
  action: string;
  write: boolean;
}

const READ_PREFIXES = ['Get', 'List', 'Head', 'Describe', 'Filter'];

export const isReadAction = (action: string): boolean => READ_PREFIXES.some((p) => action.startsWith(p));

export class CallMeter {
  readonly calls: AwsCall[] = [];
  /** Bytes of zip archives sent (directly to Lambda or to S3). */
  bytesUploaded = 0;

  record(service: string, action: string): void {
    this.calls.push({ service, action, write: !isReadAction(action) });
  }

  uploaded(bytes: number): void {
    this.bytesUploaded += bytes;
  }

  get writes(): AwsCall[] {
    return this.calls.filter((c) => c.write);
  }

  summary(): string {
    return `${this.calls.length} AWS calls (${this.writes.length} writes), ${this.bytesUploaded.toLocaleString('en-US')} bytes uploaded`;
  }
}
