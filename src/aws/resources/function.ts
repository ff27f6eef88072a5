import {
  CreateFunctionCommand, GetFunctionCommand, UpdateFunctionCodeCommand, UpdateFunctionConfigurationCommand,
  type FunctionCode, type FunctionConfiguration, type GetFunctionCommandOutput, type Runtime,
} from '@aws-sdk/client-lambda';
import { readFile } from 'node:fs/promises';
import { PipeError } from '../../errors.js';
import type { Architecture } from '../../lambda/facts.js';
import type { StepReporter } from '../../reporter/reporter.js';
import { isNotFound } from '../rules/aws-errors.js';
import { uploadArchive } from './bucket.js';
import type { AwsClients } from './clients.js';
import { objectKey, type ResourceNames } from '../rules/names.js';
import type { PackageArchive } from '../../packaging/package-manifest.js';
import { codeSha256OfHex } from '../rules/code-sha256.js';
import { retryConflicts, retryUntilRoleReady } from './retry.js';
import type { UploadRoute } from '../rules/size-strategy.js';
import { waitFunctionReady } from './wait-function.js';
import { writeOptions } from '../rules/write-options.js';

/** The configuration deploy converges the function to. */
export interface DesiredFunction {
  runtime: string;
  handler: string;
  roleArn: string;
  memory: number;
  timeout: number;
  ephemeralStorage: number;
  env: Record<string, string>;
  layers: string[];
  architecture: Architecture;
}

/** The fields of `desired` the live configuration differs in (empty: nothing to update). */
function configurationDrift(current: FunctionConfiguration, desired: DesiredFunction): string[] {
  const drift: string[] = [];
  if (current.Runtime !== desired.runtime) drift.push('runtime');
  if (current.Handler !== desired.handler) drift.push('handler');
  if (current.Role !== desired.roleArn) drift.push('role');
  if (current.MemorySize !== desired.memory) drift.push('memory');
  if (current.Timeout !== desired.timeout) drift.push('timeout');
  if ((current.EphemeralStorage?.Size ?? 512) !== desired.ephemeralStorage) drift.push('ephemeral storage');
  const env = current.Environment?.Variables ?? {};
  const sameEnv = Object.keys(env).length === Object.keys(desired.env).length && Object.entries(desired.env).every(([k, v]) => env[k] === v);
  if (!sameEnv) drift.push('environment');
  const layers = (current.Layers ?? []).map((l) => l.Arn);
  if (layers.length !== desired.layers.length || layers.some((l, i) => l !== desired.layers[i])) drift.push('layers');
  return drift;
}

const configurationInput = (name: string, d: DesiredFunction) => ({
  FunctionName: name,
  Runtime: d.runtime as Runtime,
  Handler: d.handler,
  Role: d.roleArn,
  MemorySize: d.memory,
  Timeout: d.timeout,
  EphemeralStorage: { Size: d.ephemeralStorage },
  Environment: { Variables: d.env },
  Layers: d.layers,
});

export async function getFunction(clients: AwsClients, name: string, signal?: AbortSignal): Promise<GetFunctionCommandOutput | undefined> {
  try {
    return await clients.lambda.send(new GetFunctionCommand({ FunctionName: name }), { abortSignal: signal });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** The zip as Lambda wants it: inline bytes up to the direct limit, else a pointer to S3. */
async function functionCode(
  clients: AwsClients, names: ResourceNames, archive: PackageArchive, file: string, route: UploadRoute, reporter: StepReporter, signal?: AbortSignal,
): Promise<FunctionCode> {
  if (route === 'direct') {
    const bytes = await readFile(file);
    clients.meter.uploaded(bytes.length);
    reporter.line(`function.zip: uploading ${bytes.length.toLocaleString('en-US')} bytes directly`);
    return { ZipFile: bytes };
  }
  const key = objectKey(names, 'function', archive.sha256);
  await uploadArchive(clients, { bucket: names.bucket, key, file, size: archive.size, label: 'upload function.zip' }, reporter, signal);
  return { S3Bucket: names.bucket, S3Key: key };
}

export interface FunctionCodeArgs {
  names: ResourceNames;
  archive: PackageArchive;
  file: string;
  route: UploadRoute;
}

/** Pushes new code when the deployed CodeSha256 differs; waits for the update to finish. */
export async function ensureFunctionCode(
  clients: AwsClients, args: FunctionCodeArgs & { current: FunctionConfiguration; architecture: Architecture }, reporter: StepReporter, signal?: AbortSignal,
): Promise<boolean> {
  const name = args.names.functionName;
  const sameArch = (args.current.Architectures ?? ['x86_64']).includes(args.architecture);
  if (args.current.CodeSha256 === codeSha256OfHex(args.archive.sha256) && sameArch) return false;
  const code = await functionCode(clients, args.names, args.archive, args.file, args.route, reporter, signal);
  await retryConflicts(clients, () => clients.lambda.send(new UpdateFunctionCodeCommand({
    FunctionName: name, ...code, Architectures: [args.architecture], Publish: false,
  }), writeOptions(signal)), signal);
  await waitFunctionReady(clients, name, undefined, signal);
  reporter.line(`function ${name}: code updated`);
  return true;
}

/**
 * Creates the function, or brings an existing one to the desired code and configuration. Each write
 * happens only when something differs, so converging an up-to-date stage writes nothing.
 */
export async function ensureFunction(
  clients: AwsClients,
  args: FunctionCodeArgs & { desired: DesiredFunction; /** GetFunction's answer when the caller already read it (null: no function). */ existing?: GetFunctionCommandOutput | null },
  reporter: StepReporter,
  signal?: AbortSignal,
): Promise<{ created: boolean; codeChanged: boolean; configChanged: boolean }> {
  const name = args.names.functionName;
  const existing = args.existing === undefined ? await getFunction(clients, name, signal) : (args.existing ?? undefined);
  if (!existing?.Configuration) {
    const code = await functionCode(clients, args.names, args.archive, args.file, args.route, reporter, signal);
    await retryUntilRoleReady(clients, () => clients.lambda.send(new CreateFunctionCommand({
      ...configurationInput(name, args.desired),
      Code: code,
      PackageType: 'Zip',
      Architectures: [args.desired.architecture],
      Publish: false,
      Description: `${args.names.tags['pipe:project']} ${args.names.tags['pipe:stage']} (managed by pipe)`,
      Tags: args.names.tags,
    }), writeOptions(signal)), signal);
    reporter.line(`created function ${name}; waiting for it to become Active`);
    await waitFunctionReady(clients, name, undefined, signal);
    return { created: true, codeChanged: true, configChanged: true };
  }
  // A function of that name that pipe did not create (tags are set atomically by CreateFunction) is not ours to change.
  if (existing.Tags?.['pipe:managed'] !== 'true') {
    throw new PipeError('FUNCTION_NOT_MANAGED', `A Lambda function named ${name} already exists and was not created by pipe`, {
      hint: 'Delete or rename it, or deploy under another app or stage name.',
    });
  }
  // A previous run may have been interrupted mid-update: let it settle before changing anything.
  let current = existing.Configuration;
  if (current.State === 'Pending' || current.LastUpdateStatus === 'InProgress') current = await waitFunctionReady(clients, name, undefined, signal);
  const codeChanged = await ensureFunctionCode(clients, { ...args, current, architecture: args.desired.architecture }, reporter, signal);
  const drift = configurationDrift(current, args.desired);
  if (drift.length) {
    await retryConflicts(clients, () => clients.lambda.send(new UpdateFunctionConfigurationCommand(configurationInput(name, args.desired)), writeOptions(signal)), signal);
    await waitFunctionReady(clients, name, undefined, signal);
    reporter.line(`function ${name}: configuration updated (${drift.join(', ')})`);
  }
  return { created: false, codeChanged, configChanged: drift.length > 0 };
}
