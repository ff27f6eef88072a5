import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { deployStage, SLIM_ENV } from '../../src/aws/stages/deploy.js';
import { printLogs } from '../../src/aws/stages/logs.js';
import { UNZIPPED_LIMIT } from '../../src/aws/rules/size-strategy.js';
import { updateStageCode } from '../../src/aws/stages/update.js';
import { PipeError } from '../../src/errors.js';
import { EXAMPLE, HANDLER, LineReporter, startHarness, type Harness } from '../support/deploy-harness.js';
import { makeZip } from '../support/aws-stand-in/zip-fixtures.js';

const BOOTSTRAP = path.resolve(import.meta.dirname, '../../handler/deps_bootstrap.py');
// The harness's handler imports fixture_dep, which only the deps archive (layer.zip) holds.
const SLIM_HANDLER = `import deps_bootstrap\n\ndeps_bootstrap.ensure_deps()\n\n${HANDLER}`;

const predict = async (url: string) => {
  const res = await fetch(new URL('predict', url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(EXAMPLE) });
  return { status: res.status, body: (await res.json()) as { probability: number; version: string } };
};

/** The harness's package, its function.zip rebuilt with the real handler/deps_bootstrap.py in it. */
async function writeSlimPackage(h: Harness, version: string): Promise<void> {
  // Claimed deps size over the limit: slim mode without writing 250 MB.
  await h.writePackage({ layerUnzippedSize: UNZIPPED_LIMIT + 1 });
  const dir = path.join(h.root, h.config.paths.build, 'package');
  const entries: Record<string, string | Buffer> = {
    'app.py': SLIM_HANDLER.replace('VERSION = "v1"', `VERSION = "${version}"`),
    'artifacts/model_card.json': JSON.stringify({ features: Object.keys(EXAMPLE), example_request: EXAMPLE }),
    'deps_bootstrap.py': await readFile(BOOTSTRAP),
  };
  const zip = await makeZip(entries);
  await writeFile(path.join(dir, 'function.zip'), zip);
  const manifestFile = path.join(dir, 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as { function: Record<string, unknown> };
  manifest.function = {
    file: 'function.zip',
    size: zip.length,
    unzippedSize: Object.values(entries).reduce((n, v) => n + Buffer.byteLength(v), 0),
    sha256: createHash('sha256').update(zip).digest('hex'),
  };
  await writeFile(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
}


describe('slim deploy: deps archive in S3, fetched by handler/deps_bootstrap.py on cold start', () => {
  let h: Harness;
  let url = '';

  before(async () => {
    h = await startHarness();
    await writeSlimPackage(h, 'v1');
  });
  after(async () => h?.close());

  it('deploys with the deps in S3 only, and the URL answers with a module from the deps archive', async () => {
    const reporter = new LineReporter();
    const result = await deployStage({ config: h.config, clients: h.clients(), reporter, allowSlim: true });
    url = result.url;
    assert.match(reporter.text(), /size strategy: slim/);
    const fn = h.standIn.state.functions.get('credit-dev')!;
    const settings = fn.latest.settings;
    assert.deepEqual(settings.layers, [], 'no layer: the deps come from S3');
    const env = settings.environment;
    assert.ok(env[SLIM_ENV.bucket] && env[SLIM_ENV.key], JSON.stringify(env));
    const object = await h.clients().s3.send(new GetObjectCommand({ Bucket: env[SLIM_ENV.bucket], Key: env[SLIM_ENV.key] }));
    const body = Buffer.from(await object.Body!.transformToByteArray());
    assert.equal(createHash('sha256').update(body).digest('hex'), env[SLIM_ENV.sha256]);

    const answer = await predict(url);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { probability: 0.453, version: 'v1' });
    // The function's own /tmp holds the extracted deps under the archive's hash, nothing half-done.
    const tmpDirs = (await readdir(path.join(h.root, '.functions'), { recursive: true })).filter((p) => /[/\\]tmp[/\\][^/\\]+$/.test(p));
    const prefix = `pipe-deps-${env[SLIM_ENV.sha256]!.slice(0, 16)}`;
    assert.ok(tmpDirs.length > 0 && tmpDirs.every((p) => path.basename(p) === prefix), tmpDirs.join('\n'));
    assert.ok(tmpDirs.every((p) => existsSync(path.join(h.root, '.functions', p, 'python', 'fixture_dep.py'))));
  });

  it('a deps object changed behind deploy fails the init with a clear error, and the old version stays live', async () => {
    const env = h.standIn.state.functions.get('credit-dev')!.latest.settings.environment;
    const s3 = h.clients().s3;
    const object = await s3.send(new GetObjectCommand({ Bucket: env[SLIM_ENV.bucket], Key: env[SLIM_ENV.key] }));
    const tampered = Buffer.from(await object.Body!.transformToByteArray());
    tampered[tampered.length - 1]! ^= 0xff; // same size: deploy's existence check keeps it
    await s3.send(new PutObjectCommand({ Bucket: env[SLIM_ENV.bucket], Key: env[SLIM_ENV.key], Body: tampered }));

    await writeSlimPackage(h, 'v2');
    const started = Date.now();
    await assert.rejects(
      updateStageCode({ config: h.config, clients: h.clients(), reporter: new LineReporter(), allowSlim: true }),
      (e: unknown) => e instanceof PipeError && e.code === 'SMOKE_TEST_FAILED',
    );
    const fn = h.standIn.state.functions.get('credit-dev')!;
    assert.equal(fn.aliases.get('live')?.functionVersion, '1');
    assert.deepEqual((await predict(url)).body, { probability: 0.453, version: 'v1' }, 'the warm old version still serves');
    const lines: string[] = [];
    await printLogs(h.clients(), { logGroup: '/aws/lambda/credit-dev', startTime: started - 1000, follow: false, print: (l) => lines.push(l) });
    assert.ok(lines.some((l) => /DepsBootstrapError: sha256 mismatch for s3:\/\/.+: expected [0-9a-f]{64}, downloaded [0-9a-f]{64}/.test(l)), lines.join('\n'));
  });
});
