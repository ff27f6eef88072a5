/**
 * Bytes uploaded and AWS calls made by (a) a first deploy, (b) a no-change deploy and (c) an update
 * after a one-line handler change, against s3rver and the AWS stand-in with the real SDK clients.
 * Goals: (b) uploads zero bytes and makes no write call; (c) uploads under 1% of (a)'s bytes.
 * Run: node --import tsx bench/deploy-bytes.ts [--layer-mb N]   (exit code 1 when a goal is missed)
 */
import { deployStage } from '../src/aws/stages/deploy.js';
import { updateStageCode } from '../src/aws/stages/update.js';
import { HANDLER, LineReporter, startHarness } from '../test/support/deploy-harness.js';

interface Measure {
  label: string;
  bytes: number;
  calls: number;
  writes: number;
  ms: number;
}

const layerMb = Number(process.argv[process.argv.indexOf('--layer-mb') + 1]) || 20;

async function main(): Promise<number> {
  const h = await startHarness();
  try {
    const measure = async (label: string, run: (clients: ReturnType<typeof h.clients>) => Promise<unknown>): Promise<Measure> => {
      const clients = h.clients();
      const callsBefore = h.standIn.state.calls.length;
      const writesBefore = h.standIn.state.writeCalls().length;
      const started = performance.now();
      await run(clients);
      return {
        label,
        bytes: clients.meter.bytesUploaded,
        calls: h.standIn.state.calls.length - callsBefore + clients.meter.calls.filter((c) => c.service === 's3').length,
        writes: h.standIn.state.writeCalls().length - writesBefore + clients.meter.calls.filter((c) => c.service === 's3' && c.write).length,
        ms: performance.now() - started,
      };
    };
    const reporter = new LineReporter();
    await h.writePackage({ layerPadding: layerMb * 1024 * 1024 });
    const a = await measure('(a) first deploy', (clients) => deployStage({ config: h.config, clients, reporter }));
    const b = await measure('(b) no-change deploy', (clients) => deployStage({ config: h.config, clients, reporter }));
    await h.writePackage({ layerPadding: layerMb * 1024 * 1024, handler: HANDLER.replace('VERSION = "v1"', 'VERSION = "v1.1"') });
    const c = await measure('(c) update, one-line handler change', (clients) => updateStageCode({ config: h.config, clients, reporter }));

    const rows = [a, b, c];
    const pad = (s: string, n: number) => s.padEnd(n);
    process.stdout.write(`deploy bytes and calls (layer with ${layerMb} MiB of incompressible deps; AWS calls incl. S3)\n`);
    process.stdout.write(`${pad('run', 38)}${pad('bytes uploaded', 18)}${pad('calls', 8)}${pad('writes', 8)}time\n`);
    for (const r of rows) {
      process.stdout.write(`${pad(r.label, 38)}${pad(r.bytes.toLocaleString('en-US'), 18)}${pad(String(r.calls), 8)}${pad(String(r.writes), 8)}${r.ms.toFixed(0)} ms\n`);
    }
    const ratio = c.bytes / a.bytes;
    const goals = [
      { goal: '(b) uploads 0 bytes', ok: b.bytes === 0 },
      { goal: '(b) makes no write call', ok: b.writes === 0 },
      { goal: `(c) uploads < 1% of (a): ${(ratio * 100).toFixed(3)}% (${c.bytes.toLocaleString('en-US')} / ${a.bytes.toLocaleString('en-US')})`, ok: ratio < 0.01 },
    ];
    for (const g of goals) process.stdout.write(`${g.ok ? 'PASS' : 'FAIL'}  ${g.goal}\n`);
    return goals.every((g) => g.ok) ? 0 : 1;
  } finally {
    await h.close();
  }
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
