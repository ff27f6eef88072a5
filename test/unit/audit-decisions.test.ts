import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { csvField, exportDecisionsCsv } from '../../src/audit/decision-csv.js';
import { decisionsOfMessage, parseDecisionLine, type DecisionLine } from '../../src/audit/decision-line.js';
import { decisionTableHeader, decisionTableRow } from '../../src/audit/decision-table.js';
import { UsageError, exitCodeOf } from '../../src/errors.js';

const HASH = 'ab'.repeat(32);
const BINARY =
  '{"pipe_audit":1,"time":"2026-11-30T20:41:07.123Z","request_id":"3c1d0e2a-5b7f-4d6e-9a8b-0c1d2e3f4a5b","model_version":"9f2c4e1a7b3d",' +
  '"task":"binary","positive_class":"bad","shap_output":"log_odds","record":0,"output":{"probability":0.41},"decision":"approve","reasons":[{"feature":"DebtRatio","contribution":0.12},' +
  `{"feature":"age","contribution":-0.05},{"feature":"MonthlyIncome","contribution":0.01},{"feature":"NumberOfDependents","contribution":0.001}],"missing":["MonthlyIncome","age"],"input_sha256":"${HASH}"}`;
const MULTICLASS =
  '{"pipe_audit":1,"time":"2026-11-30T20:41:08.000Z","request_id":null,"model_version":"9f2c4e1a7b3d","task":"multiclass","record":1,' +
  `"output":{"probabilities":{"a":0.2,"b":0.8}},"decision":"b","reasons":[{"feature":"x","contribution":0.3}],"input_sha256":"${HASH}"}`;
const REGRESSION =
  '{"pipe_audit":1,"time":"2026-11-30T20:41:09.000Z","request_id":"r-2","model_version":"1a2b3c4d5e6f","task":"regression","record":0,' +
  `"output":{"prediction":12.5},"decision":null,"reasons":[],"input_sha256":"${HASH}","values":{"name":"=HYPERLINK(\\"x\\")","size":3,"note":"a, \\"quoted\\" b"}}`;

describe('decision lines', () => {
  it('parses the three tasks, full lines included', () => {
    const binary = parseDecisionLine(BINARY)!;
    assert.equal(binary.decision, 'approve');
    assert.equal(binary.output.probability, 0.41);
    assert.equal(binary.reasons.length, 4);
    assert.deepEqual(parseDecisionLine(MULTICLASS)?.output, { probabilities: { a: 0.2, b: 0.8 } });
    assert.equal(parseDecisionLine(REGRESSION)?.values?.['size'], 3);
    assert.equal(parseDecisionLine(`${BINARY}\n`)?.record, 0, 'the trailing newline CloudWatch keeps');
  });

  it('skips every line that is not a decision', () => {
    const others = [
      'START RequestId: 3c1d0e2a Version: 1',
      'END RequestId: 3c1d0e2a',
      'REPORT RequestId: 3c1d0e2a\tDuration: 2.00 ms\tBilled Duration: 2 ms',
      '[ERROR] ValueError: bad input',
      'loading model {"pipe_audit":1}',
      '{"level":"info","message":"warm"}',
      '{"pipe_audit":2,"time":"t"}',
      BINARY.replace('"pipe_audit":1', '"pipe_audit":"1"'),
      BINARY.slice(0, -1),
      BINARY.replace('"task":"binary"', '"task":"ranking"'),
      BINARY.replace('"output":{"probability":0.41}', '"output":{}'),
      BINARY.replace('"contribution":0.12', '"contribution":"0.12"'),
      BINARY.replace(`,"input_sha256":"${HASH}"`, ''),
      '[1,2,3]',
      '',
    ];
    for (const line of others) assert.equal(parseDecisionLine(line), undefined, line);
  });

  it('finds each decision of a message holding several lines', () => {
    const found = decisionsOfMessage(`START RequestId: x\n${BINARY}\n${MULTICLASS}\nnot json\n`);
    assert.deepEqual(found.map((f) => f.decision.record), [0, 1]);
    assert.equal(found[0]!.raw, BINARY);
  });

  it('shows a row per decision: time, request id, record, model version, outcome, top three reasons', () => {
    assert.match(decisionTableHeader(), /^TIME +REQUEST ID +REC +MODEL +DECISION \/ OUTPUT +TOP REASONS$/);
    const row = decisionTableRow(parseDecisionLine(BINARY)!);
    assert.match(row, /^2026-11-30T20:41:07\.123Z  3c1d0e2a-5b7f-4d6e-9a8b-0c1d2e3f4a5b  0 +9f2c4e1a7b3d  approve \(P\(bad\)=0\.41\) +DebtRatio \+0\.12, age -0\.05, MonthlyIncome \+0\.01$/);
    assert.doesNotMatch(row, /NumberOfDependents/);
    assert.match(decisionTableRow(parseDecisionLine(MULTICLASS)!), /  -  +1 +9f2c4e1a7b3d  b \(0\.8\) +x \+0\.3$/);
    assert.match(decisionTableRow(parseDecisionLine(REGRESSION)!), / 12\.5 +-$/);
    // A price and its reasons whole, as the reasons write them, not cut to three or four digits.
    const price = REGRESSION.replace('"prediction":12.5', '"prediction":477525.76')
      .replace('"reasons":[]', '"reasons":[{"feature":"Living area (sq ft)","contribution":185515.25,"text":"t"},{"feature":"Year built","contribution":-4386.4,"text":"t"}]');
    assert.match(decisionTableRow(parseDecisionLine(price)!), / 477,526 +Living area \(sq ft\) \+185,515, Year built -4386$/);
    // Fixed widths: the columns line up whatever the values, so rows can stream with --follow.
    const at = (line: string) => line.indexOf('9f2c4e1a7b3d');
    assert.equal(at(decisionTableRow(parseDecisionLine(BINARY)!)), decisionTableHeader().indexOf('MODEL'));
  });

  it('writes CSV fields safely: quotes, and no formula from a sent value', () => {
    assert.equal(csvField('a, "b"'), '"a, ""b"""');
    assert.equal(csvField('line\nbreak'), '"line\nbreak"');
    assert.equal(csvField('=1+1'), "'=1+1");
    assert.equal(csvField('@SUM(A1)'), "'@SUM(A1)");
    assert.equal(csvField('-1'), '-1', 'a negative number written as text stays a number');
    assert.equal(csvField(-0.05), '-0.05');
    assert.equal(csvField(null), '');
  });
});

describe('CSV export', () => {
  let dir: string;
  const lines = [BINARY, MULTICLASS, REGRESSION].map((l) => parseDecisionLine(l)!);
  const fillWith = (decisions: DecisionLine[], failAfter?: number) => async (add: (d: DecisionLine) => Promise<void>) => {
    for (const [i, d] of decisions.entries()) {
      if (i === failAfter) throw new Error('connection reset while reading page 2');
      await add(d);
    }
  };
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pipe-audit-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('one row per decision; columns for every class, reason and sent value', async () => {
    const file = path.join(dir, 'all.csv');
    const result = await exportDecisionsCsv({ file, force: false, fill: fillWith(lines) });
    assert.equal(result.rows, 3);
    const text = await readFile(file, 'utf8');
    const rows = text.split('\r\n');
    assert.equal(rows.at(-1), '', 'ends with a line break');
    assert.equal(rows.length, 5);
    assert.equal(
      rows[0],
      'time,request_id,record,model_version,task,decision,probability,positive_class,prediction,shap_output,input_sha256,missing,' +
        'probability_a,probability_b,' +
        'reason_1_feature,reason_1_contribution,reason_2_feature,reason_2_contribution,reason_3_feature,reason_3_contribution,' +
        'reason_4_feature,reason_4_contribution,value_name,value_size,value_note',
    );
    assert.equal(rows[1], `2026-11-30T20:41:07.123Z,3c1d0e2a-5b7f-4d6e-9a8b-0c1d2e3f4a5b,0,9f2c4e1a7b3d,binary,approve,0.41,bad,,log_odds,${HASH},"[""MonthlyIncome"",""age""]",,,DebtRatio,0.12,age,-0.05,MonthlyIncome,0.01,NumberOfDependents,0.001,,,`);
    assert.equal(rows[2], `2026-11-30T20:41:08.000Z,,1,9f2c4e1a7b3d,multiclass,b,,,,,${HASH},,0.2,0.8,x,0.3,,,,,,,,,`);
    assert.equal(rows[3], `2026-11-30T20:41:09.000Z,r-2,0,1a2b3c4d5e6f,regression,,,,12.5,,${HASH},,,,,,,,,,,,"'=HYPERLINK(""x"")",3,"a, ""quoted"" b"`);
    assert.deepEqual((await readdir(dir)).filter((f) => f.includes('tmp')), [], 'no staging files left');
  });

  it('refuses an existing file without --force, and replaces it with --force', async () => {
    const file = path.join(dir, 'existing.csv');
    await writeFile(file, 'keep me');
    await assert.rejects(exportDecisionsCsv({ file, force: false, fill: fillWith(lines) }), (e: unknown) =>
      e instanceof UsageError && e.code === 'OUTPUT_EXISTS' && exitCodeOf(e) === 2 && /--force/.test(e.hint ?? ''));
    assert.equal(await readFile(file, 'utf8'), 'keep me');
    await exportDecisionsCsv({ file, force: true, fill: fillWith(lines) });
    assert.match(await readFile(file, 'utf8'), /^time,request_id/);
  });

  it('a file that appears while exporting is not overwritten without --force', async () => {
    const file = path.join(dir, 'race.csv');
    await assert.rejects(
      exportDecisionsCsv({ file, force: false, fill: async (add) => {
        await add(lines[0]!);
        await writeFile(file, 'written meanwhile');
      } }),
      (e: unknown) => e instanceof UsageError && e.code === 'OUTPUT_EXISTS',
    );
    assert.equal(await readFile(file, 'utf8'), 'written meanwhile');
    assert.deepEqual((await readdir(dir)).filter((f) => f.includes('tmp')), []);
  });

  it('a failure or an interrupt part-way leaves nothing: no file, no staging file, an old file untouched', async () => {
    const file = path.join(dir, 'broken.csv');
    await assert.rejects(exportDecisionsCsv({ file, force: false, fill: fillWith(lines, 2) }), /connection reset/);
    assert.deepEqual((await readdir(dir)).filter((f) => f.startsWith('broken') || f.startsWith('.broken')), []);

    const old = path.join(dir, 'old.csv');
    await writeFile(old, 'previous export');
    const controller = new AbortController();
    await assert.rejects(
      exportDecisionsCsv({ file: old, force: true, signal: controller.signal, fill: async (add) => {
        await add(lines[0]!);
        controller.abort();
      } }),
      (e: unknown) => (e as Error).name === 'AbortError',
    );
    assert.equal(await readFile(old, 'utf8'), 'previous export');
    assert.deepEqual((await readdir(dir)).filter((f) => f.includes('.tmp')), []);
  });

  it('refuses a directory that does not exist before reading anything', async () => {
    let read = false;
    await assert.rejects(
      exportDecisionsCsv({ file: path.join(dir, 'nope', 'x.csv'), force: false, fill: async () => void (read = true) }),
      (e: unknown) => e instanceof UsageError && e.code === 'OUTPUT_DIR_MISSING',
    );
    assert.equal(read, false);
  });
});
