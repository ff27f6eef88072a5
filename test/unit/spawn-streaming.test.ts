import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { describe, it } from 'node:test';
import { CommandError, InterruptedError, PipeError } from '../../src/errors.js';
import type { StepReporter } from '../../src/reporter/reporter.js';
import { spawnStreaming } from '../../src/runners/spawn-streaming.js';
import { processAlive } from '../../src/util/process-alive.js';

function recorder(): { reporter: StepReporter; lines: [string, string | undefined][] } {
  const lines: [string, string | undefined][] = [];
  const reporter: StepReporter = { line: (text, stream) => lines.push([text, stream]), progress() {}, step: () => reporter, done() {}, fail() {} };
  return { reporter, lines };
}

/** Running: exists and is not a zombie waiting for a parent (here, an init that may not reap) to collect it. */
function isRunning(pid: number): boolean {
  if (!processAlive(pid)) return false;
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const base = { cwd: os.tmpdir(), where: 'local' };

describe('spawnStreaming', () => {
  it('streams stdout and stderr line by line and returns stdout', async () => {
    const { reporter, lines } = recorder();
    const { stdout } = await spawnStreaming({ ...base, argv: ['sh', '-c', 'echo one; echo two >&2; printf three'], reporter, signal: new AbortController().signal });
    assert.match(stdout, /^one\nthree/);
    assert.deepEqual(lines.filter(([, s]) => s === 'stdout').map(([t]) => t), ['one', 'three']);
    assert.deepEqual(lines.filter(([, s]) => s === 'stderr').map(([t]) => t), ['two']);
  });

  it('fails with a one-line message, the exit code and the last 20 stderr lines as fields', async () => {
    const { reporter } = recorder();
    const script = 'for i in $(seq 1 30); do echo "err $i" >&2; done; exit 3';
    const error = await spawnStreaming({ ...base, argv: ['sh', '-c', script], reporter, signal: new AbortController().signal }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof CommandError, String(error));
    assert.equal(error.message, `Command failed with exit code 3 (local): sh -c '${script}'`);
    assert.equal(error.exitCode, 3);
    assert.equal(error.stderrTail.length, 20);
    assert.equal(error.stderrTail[0], 'err 11');
    assert.equal(error.stderrTail[19], 'err 30');
  });

  it('says which command is missing', async () => {
    const { reporter } = recorder();
    await assert.rejects(
      spawnStreaming({ ...base, argv: ['no-such-program-pipe'], reporter, signal: new AbortController().signal }),
      (e: unknown) => e instanceof PipeError && e.code === 'COMMAND_NOT_FOUND' && /no-such-program-pipe/.test(e.message),
    );
  });

  it('stops the whole process group on cancel, children of a shell too', async () => {
    const controller = new AbortController();
    const { reporter, lines } = recorder();
    const running = spawnStreaming({ ...base, argv: ['sh', '-c', 'sleep 30 & echo $!; wait'], reporter, signal: controller.signal });
    while (!lines.some(([, s]) => s === 'stdout')) await new Promise((r) => setTimeout(r, 20));
    const child = Number(lines.find(([, s]) => s === 'stdout')![0]);
    assert.ok(isRunning(child));
    controller.abort();
    await assert.rejects(running, (e: unknown) => e instanceof InterruptedError);
    for (let i = 0; i < 50 && isRunning(child); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(isRunning(child), false, 'the shell\'s child was stopped with it');
  });
});
