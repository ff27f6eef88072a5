import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Absolute path of one of the Python scripts of this directory. Run from source (tsx) they sit next
 * to this file; from the compiled dist/src/runtime/ they stay in the package's src/runtime/.
 */
export type RuntimeScript = 'lambda_runtime.py' | 'unzip.py' | 'score_table.py' | 'monitor_plot.py';

export function runtimeScript(name: RuntimeScript): string {
  const candidates = [path.join(here, name), path.resolve(here, '../../../src/runtime', name)];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new Error(`pipe is incomplete: ${name} not found in ${candidates.join(' or ')}`);
  return found;
}
