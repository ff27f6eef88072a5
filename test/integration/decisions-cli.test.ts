import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deployStage } from '../../src/aws/stages/deploy.js';
import { runPipe } from '../support/cli.js';
import { LineReporter, startHarness, type Harness } from '../support/deploy-harness.js';

const HASH = 'cd'.repeat(32);
const decision = (requestId: string, record: number, probability: number, decisionLabel: string) =>
  `{"pipe_audit":1,"time":"2026-11-30T20:41:07.123Z","request_id":"${requestId}","model_version":"9f2c4e1a7b3d","task":"binary",` +
  `"positive_class":"bad","shap_output":"probability","record":${record},` +
  `"output":{"probability":${probability}},"decision":"${decisionLabel}","reasons":[{"feature":"DebtRatio","contribution":0.12},{"feature":"age","contribution":-0.05}],` +
  `"input_sha256":"${HASH}"}`;

/** The real CLI against the stand-in's CloudWatch Logs, holding Lambda's own lines around the function's. */
describe('pipe logs --decisions and pipe audit through the CLI', () => {
  let h: Harness;
  const lines = [decision('req-1', 0, 0.41, 'approve'), decision('req-2', 0, 0.93, 'decline'), decision('req-2', 1, 0.12, 'approve')];

  before(async () => {
    h = await startHarness();
    await writeFile(path.join(h.root, 'pipeline.config.ts'), "export default { app: 'credit', runtime: 'python3.11', stages: { dev: {}, prod: {} } };\n");
    await h.writePackage();
    await deployStage({ config: h.config, clients: h.clients(), reporter: new LineReporter() });
    // As Lambda writes them: its START/END/REPORT lines around each invocation's own prints.
    h.standIn.state.appendFunctionLogs('credit-dev', [
      'START RequestId: req-1 Version: 1', lines[0]!, 'loading model took 12 ms', 'END RequestId: req-1', 'REPORT RequestId: req-1\tDuration: 3.00 ms',
      'START RequestId: req-2 Version: 1', `${lines[1]}\n${lines[2]}\n`, 'END RequestId: req-2',
    ], { version: '1' });
  });
  after(async () => h?.close());

  it('logs --decisions prints a table of the decisions only', async () => {
    const r = await runPipe(['logs', '--decisions', '--since', '10m'], { cwd: h.root });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const rows = r.stdout.split('\n').filter((l) => /^(TIME|2026-)/.test(l));
    assert.equal(rows.length, 4, r.stdout);
    assert.match(rows[0]!, /^TIME +REQUEST ID +REC +MODEL +DECISION \/ OUTPUT +TOP REASONS$/);
    assert.match(rows[1]!, /req-1 +0 +9f2c4e1a7b3d +approve \(P\(bad\)=0\.41\) +DebtRatio \+0\.12, age -0\.05$/);
    assert.match(rows[3]!, /req-2 +1 +9f2c4e1a7b3d +approve \(P\(bad\)=0\.12\)/);
    assert.doesNotMatch(r.stdout, /START RequestId|REPORT|loading model/);
    assert.match(r.stdout, /3 decision\(s\)/);
  });

  it('logs --decisions --json gives each decision exactly as logged', async () => {
    const r = await runPipe(['logs', '--decisions', '--json'], { cwd: h.root });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const doc = JSON.parse(r.stdout) as { ok: boolean; output: string[] };
    assert.equal(doc.ok, true);
    assert.deepEqual(doc.output, lines);
  });

  it('audit --out writes every decision as a CSV row, and will not overwrite it without --force', async () => {
    const r = await runPipe(['audit', '--since', '1d', '--out', 'decisions.csv'], { cwd: h.root });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /decisions read: 3/, 'progress');
    const csv = (await readFile(path.join(h.root, 'decisions.csv'), 'utf8')).split('\r\n').filter(Boolean);
    assert.equal(csv.length, 4);
    assert.match(csv[0]!, /^time,request_id,record,model_version,task,decision,probability,positive_class,prediction,shap_output,input_sha256,missing,reason_1_feature,reason_1_contribution,reason_2_feature,reason_2_contribution$/);
    assert.equal(csv[2], `2026-11-30T20:41:07.123Z,req-2,0,9f2c4e1a7b3d,binary,decline,0.93,bad,,probability,${HASH},,DebtRatio,0.12,age,-0.05`);

    await writeFile(path.join(h.root, 'decisions.csv'), 'an earlier export');
    const again = await runPipe(['audit', '--out', 'decisions.csv'], { cwd: h.root });
    assert.equal(again.code, 2, again.stderr + again.stdout);
    assert.match(again.stderr, /--out decisions\.csv already exists/);
    assert.match(again.stderr, /--force/);
    assert.equal(await readFile(path.join(h.root, 'decisions.csv'), 'utf8'), 'an earlier export');
    const forced = await runPipe(['audit', '--out', 'decisions.csv', '--force'], { cwd: h.root });
    assert.equal(forced.code, 0, forced.stderr + forced.stdout);
    assert.match(await readFile(path.join(h.root, 'decisions.csv'), 'utf8'), /^time,/);
  });

  it('monitor reads the same decisions from CloudWatch and from the audit CSV; with no card for their version it gives no verdict and no alarm', async () => {
    const read = async (args: string[]) => {
      const r = await runPipe(['monitor', ...args, '--fail-on', 'shifted', '--json'], { cwd: h.root });
      assert.equal(r.code, 0, r.stderr + r.stdout);
      return (JSON.parse(r.stdout) as { tasks: { name: string; data: { verdict: string | null; versions: { modelVersion: string; records: number; verdict: string; because: string[] }[] } }[] }).tasks.find((t) => t.name === 'monitor')!.data;
    };
    const logged = await read(['--since', '1d']);
    assert.equal(logged.verdict, null);
    assert.deepEqual(logged.versions.map((v) => [v.modelVersion, v.records, v.verdict]), [['9f2c4e1a7b3d', 3, 'no baseline']]);
    assert.match(logged.versions[0]!.because[0]!, /--card FILE/);
    const fromCsv = await read(['--file', 'decisions.csv']);
    assert.deepEqual(fromCsv.versions, logged.versions);
  });

  it('audit leaves no file when reading the log fails', async () => {
    h.standIn.faults.accessDenied('logs:FilterLogEvents');
    try {
      const r = await runPipe(['audit', '--out', 'denied.csv'], { cwd: h.root });
      assert.equal(r.code, 1, r.stderr + r.stdout);
      assert.match(r.stderr, /logs:FilterLogEvents/);
    } finally {
      h.standIn.faults.allow('logs:FilterLogEvents');
    }
    assert.deepEqual((await readdir(h.root)).filter((f) => f.includes('denied')), []);
  });

  it('audit without --out exits 2 saying what to pass', async () => {
    const r = await runPipe(['audit'], { cwd: h.root });
    assert.equal(r.code, 2, r.stderr + r.stdout);
    assert.match(r.stderr, /audit needs --out FILE\.csv/);
  });
});
