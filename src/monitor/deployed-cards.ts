import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GetFunctionCommand } from '@aws-sdk/client-lambda';
import { PipeError } from '../errors.js';
import { MODEL_CARD } from '../packaging/artifacts.js';
import type { TaskContext } from '../task.js';
import type { Baseline } from './drift.js';

/** The model card of a published version, as the function's own zip holds it. */
export interface DeployedCard {
  modelVersion: string;
  /** The Lambda version it was read from. */
  lambdaVersion: string;
  baseline?: Baseline;
}

const CARD_ENTRY = `artifacts/${MODEL_CARD}`;

/** One entry of a zip held in memory, as text. */
async function zipEntry(zip: Buffer, name: string): Promise<string | undefined> {
  const yauzl = await import('yauzl');
  const file = await new Promise<import('yauzl').ZipFile>((resolve, reject) => yauzl.fromBuffer(zip, { lazyEntries: true }, (error, z) => (error ? reject(error) : resolve(z))));
  return new Promise((resolve, reject) => {
    file.on('error', reject);
    file.on('end', () => resolve(undefined));
    file.on('entry', (entry: import('yauzl').Entry) => {
      if (entry.fileName !== name) return file.readEntry();
      file.openReadStream(entry, (error, stream) => {
        if (error) return reject(error);
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('error', reject);
        stream.on('end', () => {
          file.close();
          resolve(Buffer.concat(chunks).toString('utf8'));
        });
      });
    });
    file.readEntry();
  });
}

/** A published version's card as kept from an earlier read (versions never change), or read from its code. */
async function cardOfCode(cacheDir: string, key: string, download: () => Promise<Buffer>): Promise<{ text?: string; kept: boolean }> {
  const file = path.join(cacheDir, `${key}.json`);
  if (existsSync(file)) return { text: await readFile(file, 'utf8'), kept: true };
  const text = await zipEntry(await download(), CARD_ENTRY);
  if (text !== undefined) {
    await mkdir(cacheDir, { recursive: true });
    const partial = `${file}.${process.pid}.tmp`;
    await writeFile(partial, text);
    await rename(partial, file);
  }
  return { text, kept: false };
}

/**
 * The cards of the model versions in `wanted` that the stage's published versions hold (the newest
 * Lambda version that pipe recorded with each), read from their code: for a trail whose model versions
 * are no longer, or never were, in the local artifacts. Each card read is kept in the score cache
 * (build/score/cards), so a version's code is downloaded once.
 */
export async function deployedCards(ctx: TaskContext, wanted: ReadonlySet<string>): Promise<Map<string, DeployedCard>> {
  const [{ withAwsClients }, { listVersions }, { downloadCode }, { hexOfCodeSha256 }, { scoreCacheDir }] = await Promise.all([
    import('../aws/resources/task-clients.js'),
    import('../aws/stages/versions.js'),
    import('../aws/stages/deployed-package.js'),
    import('../aws/rules/code-sha256.js'),
    import('../runtime/package-extract.js'),
  ]);
  const found = new Map<string, DeployedCard>();
  const cacheDir = path.join(scoreCacheDir(ctx.config), 'cards');
  let kept = 0;
  if (!wanted.size) return found;
  const step = ctx.reporter.step(`find the model cards of ${[...wanted].join(', ')} among the published versions`);
  try {
    await withAwsClients(ctx, async (clients) => {
      const { functionName, rows } = await listVersions({ config: ctx.config, clients, reporter: step, signal: ctx.signal });
      for (const modelVersion of wanted) {
        const row = rows.find((r) => r.note?.modelVersion === modelVersion);
        if (!row) continue;
        const fn = await clients.lambda.send(new GetFunctionCommand({ FunctionName: functionName, Qualifier: row.version }), { abortSignal: ctx.signal });
        const location = fn.Code?.Location;
        const sha = fn.Configuration?.CodeSha256;
        if (!location || !sha) continue;
        const hex = hexOfCodeSha256(sha);
        const read = await cardOfCode(cacheDir, `${functionName}-${row.version}-${hex.slice(0, 12)}`,
          () => downloadCode(location, hex, `${functionName}:${row.version}'s code`, ctx.signal));
        const text = read.text;
        if (!text) continue;
        if (read.kept) kept += 1;
        const card = JSON.parse(text) as { version?: string; baseline?: Baseline };
        if (card.version === modelVersion) found.set(modelVersion, { modelVersion, lambdaVersion: row.version, baseline: card.baseline });
      }
    });
    step.done(`${found.size} of ${wanted.size} found${found.size ? ` (${[...found.values()].map((c) => `${c.modelVersion} in version ${c.lambdaVersion}`).join(', ')})` : ''}${kept ? `; ${kept} kept from an earlier read in ${path.relative(ctx.config.root, cacheDir)}` : ''}`);
  } catch (error) {
    // The function is gone (undeployed): its logs may outlive it, its cards do not.
    if (error instanceof PipeError && error.code === 'NOT_DEPLOYED') {
      step.done(`none found: ${error.message}`);
      return found;
    }
    step.fail(error);
    throw error;
  }
  return found;
}
