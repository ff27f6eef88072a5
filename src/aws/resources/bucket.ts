import {
  CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command,
  PutBucketEncryptionCommand, PutBucketTaggingCommand, PutPublicAccessBlockCommand, type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createReadStream } from 'node:fs';
import { PipeError } from '../../errors.js';
import type { StepReporter } from '../../reporter/reporter.js';
import { errorName, isNotFound } from '../rules/aws-errors.js';
import type { AwsClients } from './clients.js';
import type { ResourceNames } from '../rules/names.js';
import { writeOptions } from '../rules/write-options.js';

/** S3-compatible endpoints (s3rver, MinIO) lack some bucket settings; those are skipped with a warning. */
const isNotImplemented = (error: unknown): boolean => ['NotImplemented', 'MethodNotAllowed'].includes(errorName(error));

async function bucketExists(clients: AwsClients, bucket: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await clients.s3.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal });
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    if (errorName(error) === 'Forbidden' || (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 403) {
      throw new PipeError('AWS_BUCKET_FORBIDDEN', `Bucket ${bucket} exists but this identity cannot use it (another account owns the name, or s3:ListBucket is denied)`, {
        hint: 'Set aws.bucket in pipeline.config.ts to a bucket you own, or allow s3:ListBucket on it.',
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * The stage's bucket for uploads over the direct limit and slim deps. Created private and encrypted
 * when missing; an existing one is used as it is (no write calls).
 */
export async function ensureBucket(clients: AwsClients, names: ResourceNames, reporter: StepReporter, signal?: AbortSignal): Promise<'created' | 'exists'> {
  if (await bucketExists(clients, names.bucket, signal)) return 'exists';
  const location = clients.region === 'us-east-1' ? undefined : { LocationConstraint: clients.region as BucketLocationConstraint };
  try {
    await clients.s3.send(new CreateBucketCommand({ Bucket: names.bucket, CreateBucketConfiguration: location }), writeOptions(signal));
  } catch (error) {
    // A previous interrupted run may have created it a moment ago.
    if (errorName(error) !== 'BucketAlreadyOwnedByYou') throw error;
  }
  const settings: [string, () => Promise<unknown>][] = [
    ['public access block', () => clients.s3.send(new PutPublicAccessBlockCommand({
      Bucket: names.bucket,
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
    }), writeOptions(signal))],
    ['default encryption', () => clients.s3.send(new PutBucketEncryptionCommand({
      Bucket: names.bucket,
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
    }), writeOptions(signal))],
    ['tags', () => clients.s3.send(new PutBucketTaggingCommand({
      Bucket: names.bucket,
      Tagging: { TagSet: Object.entries(names.tags).map(([Key, Value]) => ({ Key, Value })) },
    }), writeOptions(signal))],
  ];
  const applied: string[] = [];
  for (const [what, put] of settings) {
    try {
      await put();
      applied.push(what);
    } catch (error) {
      if (!isNotImplemented(error)) throw error;
      reporter.line(`the S3 endpoint does not support bucket ${what}: skipped`, 'warn');
    }
  }
  reporter.line(`created bucket ${names.bucket}${applied.length ? ` (${applied.join(', ')})` : ''}`);
  return 'created';
}

/** True when the object is already there with that size: content-addressed keys need no re-upload. */
async function objectExists(clients: AwsClients, bucket: string, key: string, size: number, signal?: AbortSignal): Promise<boolean> {
  try {
    const head = await clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
    return head.ContentLength === size;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/**
 * Uploads a zip to a content-addressed key unless it is already there; multipart with progress
 * for big archives. Returns the bytes sent (0 when skipped).
 */
export async function uploadArchive(
  clients: AwsClients, args: { bucket: string; key: string; file: string; size: number; label: string }, reporter: StepReporter, signal?: AbortSignal,
): Promise<number> {
  if (await objectExists(clients, args.bucket, args.key, args.size, signal)) {
    reporter.line(`${args.label}: already in s3://${args.bucket}/${args.key}`);
    return 0;
  }
  const abortController = new AbortController();
  const onAbort = () => abortController.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const upload = new Upload({
      client: clients.s3,
      params: { Bucket: args.bucket, Key: args.key, Body: createReadStream(args.file), ContentLength: args.size, ContentType: 'application/zip' },
      partSize: 8 * 1024 * 1024,
      queueSize: 4,
      abortController,
    });
    upload.on('httpUploadProgress', (p) => reporter.progress({ label: args.label, current: p.loaded ?? 0, total: args.size, unit: 'bytes' }));
    await upload.done();
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  clients.meter.uploaded(args.size);
  reporter.line(`${args.label}: uploaded ${args.size.toLocaleString('en-US')} bytes to s3://${args.bucket}/${args.key}`);
  return args.size;
}

/** Deletes every object under `prefix`; returns how many. */
export async function deletePrefix(clients: AwsClients, bucket: string, prefix: string, signal?: AbortSignal): Promise<number> {
  let deleted = 0;
  let token: string | undefined;
  do {
    const page = await clients.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal: signal });
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
    if (keys.length) {
      await clients.s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }), writeOptions(signal));
      deleted += keys.length;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return deleted;
}

/** Deletes the bucket if it exists and is empty; reports what happened. */
export async function deleteBucketIfEmpty(clients: AwsClients, bucket: string, signal?: AbortSignal): Promise<'deleted' | 'absent' | 'not-empty'> {
  if (!(await bucketExists(clients, bucket, signal))) return 'absent';
  const page = await clients.s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 }), { abortSignal: signal });
  if ((page.KeyCount ?? page.Contents?.length ?? 0) > 0) return 'not-empty';
  try {
    await clients.s3.send(new DeleteBucketCommand({ Bucket: bucket }), writeOptions(signal));
  } catch (error) {
    if (isNotFound(error)) return 'absent';
    throw error;
  }
  return 'deleted';
}
