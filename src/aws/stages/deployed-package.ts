import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GetFunctionCommand, GetLayerVersionByArnCommand } from '@aws-sdk/client-lambda';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { ResolvedConfig } from '../../config/resolved.js';
import { PipeError, UsageError } from '../../errors.js';
import type { AwsClients } from '../resources/clients.js';
import { checkCredentials } from '../resources/credentials.js';
import { isNotFound } from '../rules/aws-errors.js';
import { hexOfCodeSha256 } from '../rules/code-sha256.js';
import { resourceNames } from '../rules/names.js';

/** A deployed version's package, downloaded into a `build/package`-shaped directory. */
export interface DeployedPackage {
  dir: string;
  /** The version number the qualifier resolved to. */
  version: string;
  /** Hex sha256 of its function.zip. */
  sha256: string;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** GETs a presigned code location (Code.Location, Content.Location) and checks the bytes' sha256. */
export async function downloadCode(url: string, expectedHex: string | undefined, what: string, signal: AbortSignal): Promise<Buffer> {
  const response = await fetch(url, { signal });
  if (!response.ok) throw new PipeError('DEPLOYED_CODE_UNREADABLE', `Cannot download ${what}: ${response.status} ${response.statusText}`, { hint: 'Try again; the link Lambda gives is valid for ten minutes.' });
  const bytes = Buffer.from(await response.arrayBuffer());
  if (expectedHex && sha256(bytes) !== expectedHex) {
    throw new PipeError('DEPLOYED_CODE_MISMATCH', `${what} downloaded does not match its sha256 (${expectedHex.slice(0, 12)})`, { hint: 'Try again; if it persists, the download is being altered on the way.' });
  }
  return bytes;
}

async function bodyBytes(body: unknown): Promise<Buffer> {
  const stream = body as { transformToByteArray?: () => Promise<Uint8Array> };
  if (!stream?.transformToByteArray) throw new PipeError('DEPLOYED_CODE_UNREADABLE', 'S3 returned no body for the deps archive');
  return Buffer.from(await stream.transformToByteArray());
}

/**
 * Downloads what a qualifier (`live` or a version number) of the stage's function runs: its code, and its
 * dependencies (the layer, or the deps archive in S3 for a slim function), each checked against the sha256
 * Lambda or the function's environment gives. A version already downloaded is reused: versions never change.
 */
export async function downloadDeployedPackage(
  clients: AwsClients, config: ResolvedConfig, qualifier: string, cacheDir: string, signal: AbortSignal,
): Promise<DeployedPackage> {
  const identity = await checkCredentials(clients, signal);
  const names = resourceNames(config, identity.account);
  let fn;
  try {
    fn = await clients.lambda.send(new GetFunctionCommand({ FunctionName: names.functionName, Qualifier: qualifier }), { abortSignal: signal });
  } catch (error) {
    if (!isNotFound(error)) throw error;
    if (qualifier === names.liveAlias) {
      throw new PipeError('NOT_DEPLOYED', `Stage "${config.stage}" has no live version of ${names.functionName} to compare with`, { hint: 'Deploy first (`npx pipe deploy`), or compare with a package directory: --against build/package-old.' });
    }
    throw new UsageError('VERSION_NOT_FOUND', `${names.functionName} has no version ${qualifier}`, { hint: 'Published versions are listed by `npx pipe status`; or pass --against live, or a package directory.' });
  }
  const configuration = fn.Configuration!;
  const version = configuration.Version ?? qualifier;
  const codeHex = configuration.CodeSha256 ? hexOfCodeSha256(configuration.CodeSha256) : undefined;
  const dir = path.join(cacheDir, `${names.functionName}-${version}-${(codeHex ?? 'unknown').slice(0, 12)}`);
  if (existsSync(path.join(dir, 'complete'))) return { dir, version, sha256: codeHex ?? '' };
  if (!fn.Code?.Location) throw new PipeError('DEPLOYED_CODE_UNREADABLE', `GetFunction gave no code location for ${names.functionName}:${version}`, { hint: 'The function\'s code must be a zip (pipe deploys zips).' });

  const staging = `${dir}.${process.pid}.tmp`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    const code = await downloadCode(fn.Code.Location, codeHex, `${names.functionName}:${version}'s code`, signal);
    await writeFile(path.join(staging, 'function.zip'), code);
    const layers = configuration.Layers ?? [];
    if (layers.length > 1) throw new PipeError('DEPLOYED_LAYERS', `${names.functionName}:${version} has ${layers.length} layers; pipe deploys one`, { hint: 'Compare with a package directory instead (--against DIR).' });
    if (layers[0]?.Arn) {
      const layer = await clients.lambda.send(new GetLayerVersionByArnCommand({ Arn: layers[0].Arn }), { abortSignal: signal });
      if (!layer.Content?.Location) throw new PipeError('DEPLOYED_CODE_UNREADABLE', `GetLayerVersionByArn gave no location for ${layers[0].Arn}`);
      const bytes = await downloadCode(layer.Content.Location, layer.Content.CodeSha256 ? hexOfCodeSha256(layer.Content.CodeSha256) : undefined, `layer ${layers[0].Arn}`, signal);
      await writeFile(path.join(staging, 'layer.zip'), bytes);
    }
    const env = configuration.Environment?.Variables ?? {};
    if (env.PIPE_DEPS_BUCKET && env.PIPE_DEPS_KEY) {
      // A slim function: its deps are the archive it fetches from S3 at start.
      const object = await clients.s3.send(new GetObjectCommand({ Bucket: env.PIPE_DEPS_BUCKET, Key: env.PIPE_DEPS_KEY }), { abortSignal: signal });
      const bytes = await bodyBytes(object.Body);
      if (env.PIPE_DEPS_SHA256 && sha256(bytes) !== env.PIPE_DEPS_SHA256.toLowerCase()) {
        throw new PipeError('DEPLOYED_CODE_MISMATCH', `s3://${env.PIPE_DEPS_BUCKET}/${env.PIPE_DEPS_KEY} does not match the sha256 the function expects`, { hint: 'Deploy again (`npx pipe deploy`): the function would fail to start with it too.' });
      }
      await writeFile(path.join(staging, 'layer.zip'), bytes);
    }
    await writeFile(path.join(staging, 'complete'), '');
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { dir, version, sha256: codeHex ?? sha256(await readFile(path.join(dir, 'function.zip'))) };
}
