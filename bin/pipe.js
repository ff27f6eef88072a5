#!/usr/bin/env node
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/run.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('pipe is not built: run `npm ci` (or `npm run build`) in the pipe directory first.\n');
  process.exit(2);
}
const { run } = await import(entry.href);
await run();
