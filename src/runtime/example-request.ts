import { readFile } from 'node:fs/promises';

/** The `example_request` of a model card file, or undefined when there is no card or it has none. */
export async function readExampleRequest(cardFile: string): Promise<unknown> {
  try {
    const card = JSON.parse(await readFile(cardFile, 'utf8')) as { example_request?: unknown };
    return card.example_request;
  } catch {
    return undefined;
  }
}
