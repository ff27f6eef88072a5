import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { PipeError } from '../errors.js';
import { runtimeScript } from './runtime-files.js';

/** What `extractZip` wrote. */
export interface ExtractedZip {
  files: number;
  /** Sum of the entries' uncompressed sizes: what Lambda counts against its 250 MB limit. */
  unzippedBytes: number;
}

/**
 * Extracts a deployment zip into `destDir` (created if missing) with Python's zipfile, keeping the
 * entries' permission bits and refusing entries that would land outside `destDir`.
 */
export async function extractZip(zipPath: string, destDir: string, options: { python?: string } = {}): Promise<ExtractedZip> {
  const python = options.python ?? 'python3';
  await mkdir(destDir, { recursive: true });
  const child = spawn(python, ['-I', '-S', runtimeScript('unzip.py'), zipPath, destDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  }).catch((error: unknown) => {
    throw new PipeError('PYTHON_NOT_FOUND', `Cannot run "${python}" to extract ${zipPath}`, {
      cause: error,
      hint: 'Install Python 3 or set `python` in pipeline.config.ts to an interpreter that exists.',
    });
  });
  if (code !== 0) {
    throw new PipeError('ZIP_EXTRACT_FAILED', `Cannot extract ${zipPath}: ${stderr.trim() || `exit code ${code}`}`, {
      hint: 'Rebuild the package (`npx pipe package --force`).',
    });
  }
  const parsed = JSON.parse(stdout) as { files: number; bytes: number };
  return { files: parsed.files, unzippedBytes: parsed.bytes };
}
