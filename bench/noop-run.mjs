// No-op run of a three-task fixture pipeline (everything up to date) against bare `node -e 0`,
// measured in one run, median of several. Goal: at most 3x node's own start-up.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'pipe.js');
const runs = Number(process.env.BENCH_RUNS ?? 15);

const dir = mkdtempSync(path.join(os.tmpdir(), 'pipe-bench-'));
try {
  mkdirSync(path.join(dir, 'src'));
  writeFileSync(path.join(dir, 'src', 'in.txt'), 'x\n');
  writeFileSync(
    path.join(dir, 'pipeline.config.ts'),
    `const tasks: Record<string, { command: string; dependencies?: string[]; inputs: string[]; outputs: string[] }> = {
  one: { command: 'mkdir -p out && cp src/in.txt out/one.txt', inputs: ['src/**'], outputs: ['out/one.txt'] },
  two: { command: 'cp out/one.txt out/two.txt', dependencies: ['one'], inputs: ['src/**'], outputs: ['out/two.txt'] },
  three: { command: 'cp out/two.txt out/three.txt', dependencies: ['two'], inputs: ['src/**'], outputs: ['out/three.txt'] },
};
export default { app: 'bench', tasks };
`,
  );
  const env = { ...process.env, CI: 'true' };
  const first = spawnSync(process.execPath, [bin, 'three'], { cwd: dir, env, encoding: 'utf8' });
  if (first.status !== 0) throw new Error(`setup run failed:\n${first.stdout}${first.stderr}`);

  const time = (args) => {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { cwd: dir, env, encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
    return { ms, out: r.stdout };
  };
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const pipe = [];
  const node = [];
  // Interleaved, so load on the machine affects both alike.
  for (let i = 0; i < runs; i++) {
    node.push(time(['-e', '0']).ms);
    const r = time([bin, 'three']);
    if (!/0 ran, 3 skipped/.test(r.out)) throw new Error(`expected a no-op run, got:\n${r.out}`);
    pipe.push(r.ms);
  }
  const ratio = median(pipe) / median(node);
  console.log(`no-op run (3 tasks up to date): median ${median(pipe).toFixed(0)} ms over ${runs} runs`);
  console.log(`node -e 0:                      median ${median(node).toFixed(0)} ms`);
  console.log(`ratio: ${ratio.toFixed(2)}x node start-up (goal <= 3x): ${ratio <= 3 ? 'PASS' : 'MISS'}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
