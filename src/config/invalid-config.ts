import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import type { Issue } from './fields.js';
import { locateKey } from './locate-key.js';

/** The file, and the line of the first issue's key when the source spells it out. */
function issueLocation(file: string, issues: readonly Issue[]): { file: string; line?: number; column?: number } {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    return { file };
  }
  const at = issues[0]?.path ? locateKey(source, issues[0].path) : undefined;
  return { file, ...at };
}

/** One error for every issue found in the config, each line naming its key; exit code 2. */
export function invalidConfig(file: string, issues: readonly Issue[]): ConfigError {
  const lines = issues.map((i) => `  ${i.path || '(config)'} ${i.message}`).join('\n');
  return new ConfigError(path.basename(file), `invalid configuration:\n${lines}`, {
    hint: `Edit ${file}; the keys and allowed values are listed in README.md ("Configuration").`,
    location: issueLocation(file, issues),
  });
}
