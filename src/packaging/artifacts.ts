import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PipeError } from '../errors.js';

/**
 * The model card pipe's exporter writes into the artifacts directory: what GET / answers, the example
 * request the smoke test sends, and in its `artifacts` map every other file the function loads.
 */
export const MODEL_CARD = 'model_card.json';

/** What the function takes from the artifacts directory. */
export interface DeployedArtifacts {
  /** Names relative to the artifacts directory, sorted. */
  files: string[];
  /** The card's `example_request`, when it has one. */
  exampleRequest?: unknown;
  /** Which model it is: the card's name, version (its model.json hash) and headline metric. */
  model?: ModelSummary;
}

/** A model in one line: what `pipe versions` shows of each published version. */
export interface ModelSummary {
  name: string;
  version: string;
  /** AUC for a classifier, r2 for a regression, when the card has it. */
  metric?: { name: string; value: number };
}

const HEADLINE_METRICS = ['roc_auc', 'r2', 'accuracy'];

function modelSummary(card: Record<string, unknown>): ModelSummary | undefined {
  if (typeof card.name !== 'string' || typeof card.version !== 'string') return undefined;
  const metrics = (card.metrics ?? {}) as Record<string, unknown>;
  const name = HEADLINE_METRICS.find((m) => typeof metrics[m] === 'number');
  return { name: card.name, version: card.version, ...(name ? { metric: { name, value: metrics[name] as number } } : {}) };
}

const TRAIN_AGAIN = 'Run `npx pipe model --force` to train again.';

/**
 * The artifacts say themselves what the function needs: the card, plus the files its `artifacts` map
 * lists (model.json, recorded there with its hash). Everything else a training script leaves there
 * (a fitted estimator, metrics, plots) stays local. A card without that map comes from a script that
 * is not pipe's exporter: pipe cannot know what its function reads, so the whole directory ships.
 */
export async function deployedArtifacts(dir: string, shownDir: string, card = MODEL_CARD): Promise<DeployedArtifacts> {
  const cardFile = path.join(dir, card);
  if (!existsSync(cardFile)) throw new PipeError('ARTIFACTS_MISSING', `${shownDir}/ lacks ${card}`, { hint: TRAIN_AGAIN });
  let parsed: { artifacts?: unknown; example_request?: unknown } & Record<string, unknown>;
  try {
    parsed = JSON.parse(await readFile(cardFile, 'utf8')) as typeof parsed;
  } catch (error) {
    throw new PipeError('ARTIFACTS_INVALID', `${shownDir}/${card} is not JSON`, { hint: TRAIN_AGAIN, cause: error });
  }
  const listed = parsed.artifacts;
  const files = listed !== null && typeof listed === 'object' && !Array.isArray(listed)
    ? [card, ...Object.keys(listed).map((name) => checkedName(name, shownDir, card))]
    : await everyFile(dir);
  const missing = files.filter((f) => !existsSync(path.join(dir, f)));
  if (missing.length) throw new PipeError('ARTIFACTS_MISSING', `${shownDir}/ lacks ${missing.join(', ')}`, { hint: TRAIN_AGAIN });
  const model = modelSummary(parsed);
  return {
    files: [...new Set(files)].sort(),
    ...(parsed.example_request === undefined ? {} : { exampleRequest: parsed.example_request }),
    ...(model ? { model } : {}),
  };
}

/** A listed artifact must be a file inside the directory: a card cannot pull other files into the zip. */
function checkedName(name: string, shownDir: string, card: string): string {
  const normal = path.posix.normalize(name);
  if (path.posix.isAbsolute(normal) || normal.startsWith('../') || normal === '..' || normal.includes('\\')) {
    throw new PipeError('ARTIFACTS_INVALID', `${shownDir}/${card} lists "${name}", which is not a file in ${shownDir}/`, { hint: TRAIN_AGAIN });
  }
  return normal;
}

/** Every regular file under `dir`, hidden ones left out, as posix names relative to it. */
async function everyFile(dir: string, sub = ''): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(path.join(dir, sub), { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const rel = sub ? `${sub}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...(await everyFile(dir, rel)));
    else if (entry.isFile()) files.push(rel);
  }
  return files;
}
