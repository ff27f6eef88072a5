import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deployStage } from '../../src/aws/stages/deploy.js';
import { resolveConfig } from '../../src/config/resolved.js';
import { undeployStage } from '../../src/aws/stages/undeploy.js';
import { LineReporter, startHarness, type Harness } from '../support/deploy-harness.js';

/** A layer over Lambda's 50 MB direct-upload limit goes through S3 (s3rver), with upload progress. */
describe('deploy through S3 when an archive is over the direct-upload limit', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await h.writePackage({ layerPadding: 51 * 1024 * 1024 });
  });
  after(async () => h?.close());

  it('uploads the layer to the stage bucket with progress and publishes it from there', async () => {
    const reporter = new LineReporter();
    const clients = h.clients();
    const result = await deployStage({ config: h.config, clients, reporter });
    assert.match(reporter.text(), /layer\.zip .* via S3/);
    assert.ok(reporter.progressLabels.has('upload layer.zip'));
    assert.ok(clients.meter.calls.some((c) => c.service === 's3' && (c.action === 'CreateMultipartUpload' || c.action === 'PutObject')));
    const layer = [...h.standIn.state.layers.values()][0]!;
    assert.equal([...layer.versions.values()][0]!.code.size, (await import('node:fs')).statSync(`${h.root}/build/package/layer.zip`).size);
    assert.equal((await fetch(new URL('health', result.url))).status, 200);
  });

  it('another stage reuses the published layer and undeploying one stage keeps the layer the other uses', async () => {
    const prod = resolveConfig({ app: 'credit', runtime: 'python3.11', stages: { dev: {}, prod: {} } }, h.config.file, 'prod');
    const clients = h.clients();
    const reporter = new LineReporter();
    await deployStage({ config: prod, clients, reporter });
    assert.match(reporter.text(), /already holds deps .*: reused/);
    assert.ok(clients.meter.bytesUploaded < 10_000, `uploaded ${clients.meter.bytesUploaded}`);
    const undeploy = new LineReporter();
    await undeployStage({ config: prod, clients: h.clients(), reporter: undeploy, removeLogs: true });
    assert.match(undeploy.text(), /kept layer credit-deps:1: another stage uses it/);
    assert.equal(h.standIn.state.layers.get('credit-deps')?.versions.size, 1);
    assert.ok(h.standIn.state.functions.has('credit-dev'));
  });
});
