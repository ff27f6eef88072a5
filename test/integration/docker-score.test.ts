import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { resolveConfig } from '../../src/config/resolved.js';
import { UsageError } from '../../src/errors.js';
import { createDockerRunner, type DockerRunner } from '../../src/runners/docker-runner.js';
import { runScoreDriver, type ExtractedPackage } from '../../src/runtime/score-driver.js';
import { BUILD_IMAGE, DOCKER_HOST, engineSkipReason, projectContainers } from '../support/build-engine.js';

const reason = await engineSkipReason();

const CARD = {
  task: 'binary',
  classes: ['bad', 'good'],
  positive_class: 'bad',
  features: [{ name: 'age', type: 'number' }, { name: 'Purpose', type: 'category' }, { name: 'owner', type: 'boolean' }],
  limits: { max_records: 2, max_body_bytes: 1_048_576 },
  reasons: { count: 2 },
};

/** The driver's stdout, whole. */
async function drain(stream: PassThrough): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * pipe score's driver in the build image, as `pipe score --runner docker` runs it: the package mounted at
 * /var/task, the table on stdin, the batches on stdout, a bad table an exit 2 with the driver's message.
 */
describe(reason ? `pipe score's driver in the build image (skipped: ${reason})` : "pipe score's driver in the build image", { skip: reason }, () => {
  let root: string;
  let runner: DockerRunner;
  let pkg: ExtractedPackage;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'pipe-docker-score-'));
    await mkdir(path.join(root, 'code', 'artifacts'), { recursive: true });
    await writeFile(path.join(root, 'code', 'artifacts', 'model_card.json'), JSON.stringify(CARD));
    pkg = { codeDir: path.join(root, 'code'), layerDirs: [] };
    const config = resolveConfig({ app: 'docker-score', runtime: 'python3.11', image: BUILD_IMAGE }, path.join(root, 'pipeline.config.ts'), undefined);
    runner = await createDockerRunner({ config, env: { DOCKER_HOST } });
  });
  after(async () => {
    await runner?.dispose();
    await rm(root, { recursive: true, force: true });
  });

  it('cuts the table into the function\'s request bodies, reading each cell by the card\'s type', async () => {
    const output = new PassThrough();
    const text = drain(output);
    const table = 'id,Purpose,age,owner,extra\n1,car,41,true,x\n2,  education ,NA,false,y\n3,car,40.5\n';
    await runScoreDriver({
      host: await runner.functionHost(), pkg, mode: 'requests', args: ['--keep', 'id', '--output', 'csv'], env: {},
      input: Readable.from([table]), output, signal: new AbortController().signal,
    });
    output.end();
    const lines = (await text).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines[0], { header: ['id', 'Purpose', 'age', 'owner', 'extra'] });
    assert.deepEqual(lines.slice(1).map((b) => [b.rows, b.keep, b.refused, JSON.parse(b.body as string)]), [
      [[1, 2], [['1'], ['2']], [], [{ age: 41, Purpose: 'car', owner: true }, { age: null, Purpose: 'education', owner: false }]],
      [[3], [['3']], [[0, 'the row has 3 fields, the header 5']], []],
    ]);
    assert.deepEqual(await projectContainers(root), [], 'no container left behind');
  });

  it('a table without a feature column is a usage error naming it', async () => {
    const output = new PassThrough();
    void drain(output);
    await assert.rejects(
      runScoreDriver({
        host: await runner.functionHost(), pkg, mode: 'requests', args: [], env: {},
        input: Readable.from(['id,age\n1,30\n']), output, signal: new AbortController().signal,
      }),
      (error: unknown) => error instanceof UsageError && /lacks the feature column 'Purpose'/.test(error.message),
    );
  });
});
