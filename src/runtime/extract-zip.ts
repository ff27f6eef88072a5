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
  const { execa } = await import('execa');
  const result = await execa(python, ['-I', '-S', runtimeScript('unzip.py'), zipPath, destDir], { stdin: 'ignore', reject: false });
  if (result.exitCode === undefined && result.signal === undefined) {
    throw new PipeError('PYTHON_NOT_FOUND', `Cannot run "${python}" to extract ${zipPath}`, {
      cause: result.cause,
      hint: 'Install Python 3 or set `python` in pipeline.config.ts to an interpreter that exists.',
    });
  }
  if (result.failed) {
    throw new PipeError('ZIP_EXTRACT_FAILED', `Cannot extract ${zipPath}: ${result.stderr.trim() || `exit code ${result.exitCode ?? result.signal}`}`, {
      hint: 'Rebuild the package (`npx pipe package --force`).',
    });
  }
  const parsed = JSON.parse(result.stdout) as { files: number; bytes: number };
  return { files: parsed.files, unzippedBytes: parsed.bytes };
}
