import { createHash } from 'node:crypto';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import yauzl from 'yauzl';
import { invalidParameter } from './errors.js';
import type { CodeRecord } from './types.js';

/** Sum of the uncompressed sizes in a zip's central directory; rejects what Lambda could not unzip. */
export function unzippedSize(zip: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const unusable = () =>
      reject(invalidParameter('Could not unzip uploaded file. Please check your file, then try to upload again.'));
    yauzl.fromBuffer(zip, { lazyEntries: true, validateEntrySizes: false }, (openError, archive) => {
      if (openError || !archive) return unusable();
      let total = 0;
      archive.on('entry', (entry: yauzl.Entry) => {
        total += entry.uncompressedSize;
        archive.readEntry();
      });
      archive.on('end', () => resolve(total));
      archive.on('error', unusable);
      archive.readEntry();
    });
  });
}

/** Builds the stored record of a zip: CodeSha256 is base64(sha256(zip)) as Lambda reports it. */
export async function codeRecord(zip: Buffer): Promise<CodeRecord> {
  return {
    zip,
    sha256: createHash('sha256').update(zip).digest('base64'),
    size: zip.length,
    unzippedSize: await unzippedSize(zip),
  };
}

/** Lambda's limit on a zip sent in the request (50 MB). */
export const DIRECT_ZIP_LIMIT = 52_428_800;
/** Lambda's limit on function + layers, unzipped. */
export const UNZIPPED_LIMIT = 262_144_000;

/** Fetches code named by S3Bucket/S3Key the way Lambda does, from the s3rver the tests run. */
export async function fetchS3Code(
  s3Endpoint: string | undefined,
  bucket: string,
  key: string,
  version: string | undefined,
): Promise<Buffer> {
  if (!s3Endpoint) throw new Error('the AWS stand-in needs options.s3Endpoint to read code from S3');
  const client = new S3Client({
    endpoint: s3Endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: version }));
    if (!object.Body) throw new Error('empty body');
    return Buffer.from(await object.Body.transformToByteArray());
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'NoSuchKey' || name === 'NoSuchBucket' || name === 'NotFound') {
      const message =
        name === 'NoSuchBucket' ? 'The specified bucket does not exist' : 'The specified key does not exist.';
      throw invalidParameter(`Error occurred while GetObject. S3 Error Code: ${name}. S3 Error Message: ${message}`);
    }
    throw error;
  } finally {
    client.destroy();
  }
}
