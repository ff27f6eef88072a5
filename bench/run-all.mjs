// Runs every benchmark in turn; each prints its own ratios measured in one run.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (title, command, args) => {
  console.log(`\n=== ${title}`);
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  return r.status === 0;
};

const results = [
  ['build', run('build', 'npx', ['tsc', '-p', 'tsconfig.json'])],
  ['python env', run('python test environment', 'bash', ['scripts/ensure-python-env.sh'])],
  ['no-op run', run('no-op run vs node start-up', process.execPath, ['bench/noop-run.mjs'])],
  ['handler', run('handler vs a shap-based handler', '.venv-test/bin/python', ['bench/handler_vs_shap.py'])],
  // Exit status: outputs agree; its speed goals print PASS/MISS lines of their own.
  ['models vs libraries', run('boosted models vs shap and LightGBM', '.venv-test/bin/python',
    ['bench/models_vs_libraries.py'])],
  ['score a table', run('pipe score vs a pandas + joblib + shap script', '.venv-test/bin/python', ['bench/score_table.py'])],
  ['deploy bytes', run('bytes and AWS calls per deploy', process.execPath, ['--import', 'tsx', 'bench/deploy-bytes.ts'])],
  ['runners', run('docker runner vs local runner', process.execPath, ['--import', 'tsx', 'bench/runners.ts'])],
];
console.log('\n=== summary');
for (const [name, ok] of results) console.log(`${ok ? 'ok  ' : 'MISS'} ${name}`);
process.exitCode = results.every(([, ok]) => ok) ? 0 : 1;
