/**
 * What the deploy integration tests and bench/deploy-bytes.ts share: s3rver + the AWS stand-in, a temp
 * project with a package built in the test (a small Python handler answering /health and /predict, a
 * deps layer), and Function URLs served by the same local runtime as `pipe serve`.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolveConfig, type ResolvedConfig } from '../../src/config/resolved.js';
import type { PipeConfig } from '../../src/config/schema.js';
import { createAwsClients, type AwsClients } from '../../src/aws/resources/clients.js';
import type { StepReporter } from '../../src/reporter/reporter.js';
import { extractZip } from '../../src/runtime/extract-zip.js';
import { toHttpResponse } from '../../src/runtime/function-url-event.js';
import { LocalFunction } from '../../src/runtime/local-function.js';
import { makeZip } from './aws-stand-in/zip-fixtures.js';
import { startAwsStandIn, type AwsStandIn, type AwsStandInOptions, type InvokedFunction } from './aws-stand-in/index.js';
import { startS3rver, type S3Server } from './s3rver.js';

export const HANDLER = `import json
import fixture_dep

VERSION = "v1"

def handler(event, context):
    method = event["requestContext"]["http"]["method"]
    path = event["rawPath"]
    if path == "/health":
        return {"statusCode": 200, "body": json.dumps({"status": "ok", "version": VERSION})}
    if path == "/predict" and method == "POST":
        record = json.loads(event.get("body") or "null")
        if not isinstance(record, dict):
            return {"statusCode": 400, "body": json.dumps({"error": "expected one JSON object"})}
        return {"statusCode": 200, "body": json.dumps({"probability": fixture_dep.score(record), "version": VERSION})}
    return {"statusCode": 404, "body": json.dumps({"error": "not found"})}
`;

export const BROKEN_HANDLER = HANDLER.replace('if path == "/predict" and method == "POST":', 'if path == "/predict" and method == "POST":\n        raise RuntimeError("model failed to load")');

const DEP = 'def score(record):\n    return round(min(1.0, sum(float(v) for v in record.values()) / 100.0), 6)\n';
export const EXAMPLE = { age: 45, DebtRatio: 0.3 };

/** A StepReporter collecting lines, with progress events. */
export class LineReporter implements StepReporter {
  readonly lines: string[] = [];
  readonly progressLabels = new Set<string>();
  line(text: string): void {
    this.lines.push(text);
  }
  progress(update: { label: string }): void {
    this.progressLabels.add(update.label);
  }
  step(): StepReporter {
    return this;
  }
  done(): void {}
  fail(): void {}
  text(): string {
    return this.lines.join('\n');
  }
}

async function zipOf(entries: Record<string, string | Buffer>, file: string): Promise<{ size: number; unzippedSize: number; sha256: string }> {
  const zip = await makeZip(entries);
  await writeFile(file, zip);
  const unzippedSize = Object.values(entries).reduce((n, v) => n + Buffer.byteLength(v), 0);
  return { size: zip.length, unzippedSize, sha256: createHash('sha256').update(zip).digest('hex') };
}

export interface PackageSpec {
  handler?: string;
  /** Bytes of incompressible padding in the layer, to make it realistically big. */
  layerPadding?: number;
  wheels?: { name: string; version: string; tags: string[] }[];
  /** Overrides of the manifest's sizes (a "too large" package without writing 300 MB). */
  layerUnzippedSize?: number;
  runtime?: string;
  /** A package whose model card had no example request. */
  noExample?: boolean;
  /** More of the model card (its name and version, a baseline); the manifest then names the model. */
  card?: { name: string; version: string } & Record<string, unknown>;
}

export interface Harness {
  root: string;
  config: ResolvedConfig;
  s3: S3Server;
  standIn: AwsStandIn;
  /** Fresh SDK clients (fresh meter) for one command. */
  clients(): AwsClients;
  writePackage(spec?: PackageSpec): Promise<void>;
  /** Python processes started for Function URL requests. */
  invocations: number;
  close(): Promise<void>;
}

export async function startHarness(options: Partial<AwsStandInOptions> & { config?: Partial<PipeConfig> } = {}): Promise<Harness> {
  const root = await mkdtemp(path.join(tmpdir(), 'pipe-deploy-'));
  const s3 = await startS3rver();
  const running = new Map<string, LocalFunction>();
  const workDir = path.join(root, '.functions');
  let invocations = 0;
  const extracted = new Set<string>();
  // Function URLs run the deployed zip (and its layers) in the local Lambda runtime, one warm process per version.
  async function invokeUrl(fn: InvokedFunction, request: { event: unknown }) {
    invocations += 1;
    const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 16);
    const layerKeys = fn.layers.map(digest);
    const key = createHash('sha256').update(fn.zip).update(layerKeys.join('|')).update(fn.handler).update(JSON.stringify(fn.env)).digest('hex').slice(0, 16);
    let local = running.get(key);
    if (!local) {
      const dir = path.join(workDir, key);
      await mkdir(dir, { recursive: true });
      await writeFile(path.join(dir, 'function.zip'), fn.zip);
      await extractZip(path.join(dir, 'function.zip'), path.join(dir, 'task'));
      const layerDirs: string[] = [];
      for (const [i, layer] of fn.layers.entries()) {
        // Layers are shared between versions and stages: extract each one once.
        const layerDir = path.join(workDir, `layer-${layerKeys[i]}`);
        if (!extracted.has(layerDir)) {
          await writeFile(`${layerDir}.zip`, layer);
          await extractZip(`${layerDir}.zip`, layerDir);
          extracted.add(layerDir);
        }
        layerDirs.push(layerDir);
      }
      // What Lambda adds to the function's own env: the execution role's credentials (here s3rver's)
      // and a private /tmp per execution environment; plus the S3 endpoint, for slim-mode deps.
      const tmp = path.join(dir, 'tmp');
      await mkdir(tmp, { recursive: true });
      const lambdaEnv = {
        AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_SESSION_TOKEN: 'harness-session-token',
        AWS_ENDPOINT_URL_S3: s3.endpoint, TMPDIR: tmp,
      };
      local = new LocalFunction({ codeDir: path.join(dir, 'task'), layerDirs, handler: fn.handler, env: { ...fn.env, ...lambdaEnv }, timeoutSeconds: fn.timeout, runtime: fn.runtime });
      running.set(key, local);
    }
    const outcome = await local.invoke(request.event);
    const response = toHttpResponse(outcome);
    // Like Lambda's log stream, a failed invocation (an init error included) logs its error.
    const logs = outcome.error ? [`[ERROR] ${outcome.error.errorType}: ${outcome.error.errorMessage}`] : [];
    return { statusCode: response.statusCode, headers: Object.fromEntries(response.headers), body: response.body, logs, functionError: outcome.error !== undefined };
  }
  const standIn = await startAwsStandIn({ pollsUntilActive: 2, ...options, s3Endpoint: s3.endpoint, invokeUrl });
  const saved = { ...process.env };
  Object.assign(process.env, standIn.env, {
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    PIPE_AWS_POLL_SECONDS: '0.01',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SHARED_CREDENTIALS_FILE: path.join(root, 'no-credentials'),
    AWS_CONFIG_FILE: path.join(root, 'no-config'),
  });
  delete process.env.AWS_PROFILE;
  const config = resolveConfig({ app: 'credit', stages: { dev: {}, prod: {} }, runtime: 'python3.11', ...options.config }, path.join(root, 'pipeline.config.ts'), 'dev');

  return {
    root,
    config,
    s3,
    standIn,
    get invocations() {
      return invocations;
    },
    clients: () => createAwsClients({ region: config.region, endpoints: config.aws.endpoints }),
    async writePackage(spec: PackageSpec = {}) {
      const dir = path.join(root, config.paths.build, 'package');
      await mkdir(dir, { recursive: true });
      const card = JSON.stringify({ features: Object.keys(EXAMPLE), example_request: EXAMPLE, ...spec.card });
      const fn = await zipOf({ 'app.py': spec.handler ?? HANDLER, 'artifacts/model_card.json': card }, path.join(dir, 'function.zip'));
      const layerEntries: Record<string, string | Buffer> = { 'python/fixture_dep.py': DEP };
      if (spec.layerPadding) layerEntries['python/padding.bin'] = deterministicNoise(spec.layerPadding);
      const layer = await zipOf(layerEntries, path.join(dir, 'layer.zip'));
      const depsHash = createHash('sha256').update(JSON.stringify(layerEntries['python/fixture_dep.py'])).update(String(spec.layerPadding ?? 0)).digest('hex');
      const manifest = {
        function: { file: 'function.zip', ...fn },
        layer: { file: 'layer.zip', ...layer, unzippedSize: spec.layerUnzippedSize ?? layer.unzippedSize, depsHash },
        runtime: spec.runtime ?? config.runtime,
        architecture: config.architecture,
        handler: 'app.handler',
        wheels: spec.wheels ?? [{ name: 'numpy', version: '2.2.6', tags: ['cp311-cp311-manylinux_2_17_x86_64', 'cp311-cp311-manylinux2014_x86_64'] }],
        artifacts: ['model_card.json'],
        ...(spec.noExample ? {} : { exampleRequest: EXAMPLE }),
        ...(spec.card ? { model: { name: spec.card.name, version: spec.card.version } } : {}),
      };
      await writeFile(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    },
    async close() {
      await Promise.all([...running.values()].map((f) => f.stop()));
      await standIn.close();
      await s3.close();
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Incompressible but reproducible bytes (a layer that is big when zipped, like real wheels). */
function deterministicNoise(size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update('seed').digest();
  for (let at = 0; at < size; at += block.length) {
    block.copy(out, at);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}
