import archiver from 'archiver';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InterruptedError } from '../errors.js';
import { sha256File } from '../util/hash.js';

/** One file going into a zip: where it is on disk and its name in the archive. */
export interface ZipEntry {
  name: string;
  file: string;
}

export interface ZipResult {
  sha256: string;
  /** Bytes of the zip file. */
  size: number;
  /** Sum of the entries' sizes: what Lambda counts against its 250 MB limit. */
  unzippedSize: number;
  entries: number;
}

/** Every file under `dir` (following no symlinks out of it), as archive names under `prefix`, sorted. */
export async function collectFiles(dir: string, prefix: string, exclude: (rel: string) => boolean = () => false): Promise<ZipEntry[]> {
  const out: ZipEntry[] = [];
  const walk = async (sub: string): Promise<void> => {
    for (const dirent of await readdir(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${dirent.name}` : dirent.name;
      if (exclude(rel)) continue;
      if (dirent.isDirectory()) await walk(rel);
      else if (dirent.isFile()) out.push({ name: prefix ? `${prefix}/${rel}` : rel, file: path.join(dir, rel) });
    }
  };
  await walk('');
  return out;
}

const byName = (a: ZipEntry, b: ZipEntry): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const executable = async (file: string): Promise<boolean> => ((await lstat(file)).mode & 0o111) !== 0;

/**
 * What decides the bytes writeDeterministicZip writes for `entries`: their names, contents and
 * whether each is executable, as one sha256. Equal digests give equal zips, so a zip already written
 * for them can be used again instead of compressed again.
 */
export async function entriesDigest(entries: readonly ZipEntry[]): Promise<string> {
  const hash = createHash('sha256');
  for (const entry of [...entries].sort(byName)) {
    hash.update(`${entry.name}\0${(await executable(entry.file)) ? 'x' : '-'}\0${await sha256File(entry.file)}\n`);
  }
  return hash.digest('hex');
}

// DOS time starts in 1980; archiver converts with local-time getters, so build the date in local time.
const FIXED_DATE = new Date(1980, 0, 1, 0, 0, 0);

/**
 * Writes a reproducible zip: entries sorted by name, fixed timestamps, modes normalised to 0644 (0755
 * when executable). The same files give the same bytes, hence the same sha256 and Lambda CodeSha256.
 */
export async function writeDeterministicZip(
  entries: readonly ZipEntry[],
  outFile: string,
  opts: { onBytes?: (written: number) => void; signal?: AbortSignal } = {},
): Promise<ZipResult> {
  const { onBytes, signal } = opts;
  const sorted = [...entries].sort(byName);
  // statConcurrency 1: archiver stats files in parallel and queues each when its stat returns, which
  // would let entry order (and so the bytes) vary between runs.
  const archive = archiver('zip', { zlib: { level: 9 }, forceLocalTime: true, statConcurrency: 1 });
  const hash = createHash('sha256');
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      onBytes?.(size);
      done(null, chunk);
    },
  });
  const written = pipeline(archive, counter, createWriteStream(outFile), { signal });
  // A rejected pipeline is awaited below; until then it must not count as unhandled.
  written.catch(() => undefined);
  let unzippedSize = 0;
  for (const entry of sorted) {
    if (signal?.aborted) {
      archive.abort();
      break;
    }
    const info = await stat(entry.file);
    unzippedSize += info.size;
    const mode = (await executable(entry.file)) ? 0o755 : 0o644;
    archive.file(entry.file, { name: entry.name, date: FIXED_DATE, mode });
  }
  // The pipeline settles when the zip is written or the signal aborts it; finalize()'s own promise never
  // settles after an abort, so it is not awaited.
  if (!signal?.aborted) archive.finalize().catch(() => undefined);
  try {
    await written;
  } catch (error) {
    if (signal?.aborted) throw new InterruptedError(`Interrupted while writing ${outFile}`);
    throw error;
  }
  if (signal?.aborted) throw new InterruptedError(`Interrupted while writing ${outFile}`);
  return { sha256: hash.digest('hex'), size, unzippedSize, entries: sorted.length };
}
