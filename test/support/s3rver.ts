import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

/** A running s3rver (real S3 HTTP API on 127.0.0.1, files in a temp dir). */
export interface S3Server {
  endpoint: string;
  /** Credentials s3rver checks signatures against. */
  accessKeyId: 'S3RVER';
  secretAccessKey: 'S3RVER';
  directory: string;
  close(): Promise<void>;
}

/** Starts s3rver on an ephemeral port in a fresh temp directory; `close` stops it and removes the files. */
export async function startS3rver(): Promise<S3Server> {
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;
  const directory = await mkdtemp(path.join(tmpdir(), 'pipe-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    directory,
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
