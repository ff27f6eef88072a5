import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeProject, PIPE_BIN, until } from '../support/cli.js';

/**
 * The CLI on a terminal: `script` gives it a pseudo-TTY, so the listr2 renderer draws the run. The
 * environment drops CI so pipe does not fall back to plain lines.
 */
function runOnTty(args: string[], cwd: string): { done: Promise<{ code: number | null; output: string }>; kill: () => void; output: () => string } {
  const command = [process.execPath, PIPE_BIN, ...args].map((a) => `'${a}'`).join(' ');
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm', COLUMNS: '120', LINES: '40' };
  delete env.CI;
  const child = spawn('script', ['-qefc', `stty cols 120 rows 40; exec ${command}`, '/dev/null'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const done = new Promise<{ code: number | null; output: string }>((resolve) => child.on('close', (code) => resolve({ code, output })));
  // script forwards what it reads on stdin to the terminal: ^C there is a real terminal interrupt.
  return { done, kill: () => child.stdin.write('\x03'), output: () => output };
}

const strip = (text: string) => text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');

describe('pipe CLI on a terminal', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await makeProject({
      'pipeline.config.ts': `export default { app: 't', tasks: {
        one: { command: 'mkdir -p out && echo first line && cp src/a.txt out/one.txt', inputs: ['src/a.txt'], outputs: ['out/one.txt'] },
        two: { command: 'cp out/one.txt out/two.txt', dependencies: ['one'], inputs: ['src/a.txt'], outputs: ['out/two.txt'] },
        wait: { command: 'mkdir -p out && touch out/started && sleep 30', inputs: ['src/a.txt'], outputs: ['out/wait.txt'] },
      } };`,
      'src/a.txt': 'a\n',
    }));
  });
  after(() => cleanup());

  it('draws each task with its status, then skips them on the next run', async () => {
    const first = await runOnTty(['two'], dir).done;
    assert.equal(first.code, 0, first.output);
    const text = strip(first.output);
    assert.match(text, /✔ one \[\d/);
    assert.match(text, /✔ two \[\d/);
    assert.match(text, /done: 2 ran, 0 skipped/);
    const second = strip((await runOnTty(['two'], dir).done).output);
    assert.match(second, /↓ one: up to date/);
    assert.match(second, /done: 0 ran, 2 skipped/);
  });

  it('Ctrl-C on the terminal stops the run with exit code 130', async () => {
    const run = runOnTty(['wait'], dir);
    await until(() => existsSync(path.join(dir, 'out/started')), 10_000, 'the task to start');
    run.kill();
    const r = await run.done;
    assert.equal(r.code, 130, strip(r.output));
    assert.equal(existsSync(path.join(dir, '.pipe/lock')), false);
  });
});
