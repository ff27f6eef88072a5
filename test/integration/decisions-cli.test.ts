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

  it('monitor finds the baseline of a logged model version in the card of the published version that served it', async () => {
    const baseline = {
      rows: 500, refused: 0, of: 'validation rows (validation_index.csv)',
      score: { is: 'probability that Status is bad', edges: [0.2, 0.5, 0.8], shares: [0.25, 0.25, 0.25, 0.25] },
      decisions: { approve: 0.5, decline: 0.5 }, missing: { DebtRatio: 0, age: 0 }, first_reason: { DebtRatio: 1 }, no_reason: 0,
      mean_abs_shap: { DebtRatio: 0.2, age: 0.1 }, mean_abs_reason: { DebtRatio: 0.12, age: 0.05 }, reasons_per_decision: 4,
    };
    await h.writePackage({ card: { name: 'credit', version: '9f2c4e1a7b3d', baseline } });
    await deployStage({ config: h.config, clients: h.clients(), reporter: new LineReporter() });
    // 200 more decisions of that model version, every score above the baseline's top decile: shifted.
    h.standIn.state.appendFunctionLogs('credit-dev', Array.from({ length: 200 }, (_, i) => decision(`req-${i + 3}`, 0, 0.9, 'decline')), { version: '2' });
    const r = await runPipe(['monitor', '--since', '1d', '--fail-on', 'shifted'], { cwd: h.root });
    assert.equal(r.code, 3, r.stderr + r.stdout);
    assert.match(r.stdout, /9f2c4e1a7b3d in version 2/);
    assert.match(r.stdout, /model version 9f2c4e1a7b3d: 203 decision\(s\)/);
    assert.match(r.stdout, /baseline: 500 validation rows \(validation_index\.csv\), from the model card of Lambda version 2/);
    assert.match(r.stdout, /verdict: shifted: .*score PSI/);
    // The card is kept: a second run reads it without downloading the version's code again.
    const downloads = h.standIn.state.downloads.length;
    assert.ok(downloads >= 1);
    const again = await runPipe(['monitor', '--since', '1d', '--fail-on', 'shifted'], { cwd: h.root });
    assert.equal(again.code, 3, again.stderr + again.stdout);
    assert.match(again.stdout, /9f2c4e1a7b3d in version 2\); 1 kept from an earlier read in build\/score\/cards/);
    assert.match(again.stdout, /verdict: shifted: .*score PSI/);
    assert.equal(h.standIn.state.downloads.length, downloads);
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
