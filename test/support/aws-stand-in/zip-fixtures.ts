import { Readable } from 'node:stream';
import archiver from 'archiver';

/** A zip of the given files (for deployment packages in tests): same files, same bytes. */
export function makeZip(files: Record<string, string | Buffer>, store = false): Promise<Buffer> {
  const archive = archiver('zip', { store });
  const done = collect(archive);
  for (const name of Object.keys(files).sort()) archive.append(files[name]!, { name, date: new Date(0), mode: 0o644 });
  void archive.finalize();
  return done;
}

/** A small zip holding one file of `size` zero bytes: large unzipped, tiny zipped. */
export function makeZeroZip(name: string, size: number): Promise<Buffer> {
  const archive = archiver('zip', { zlib: { level: 1 } });
  const done = collect(archive);
  const chunk = Buffer.alloc(1024 * 1024);
  let left = size;
  const zeros = new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const n = Math.min(left, chunk.length);
      left -= n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
  archive.append(zeros, { name, date: new Date(0) });
  void archive.finalize();
  return done;
}

function collect(archive: archiver.Archiver): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    archive.on('data', (chunk: Buffer) => chunks.push(chunk));
    archive.on('end', () => resolve(Buffer.concat(chunks)));
    archive.on('error', reject);
  });
}
