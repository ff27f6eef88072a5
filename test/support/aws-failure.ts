import assert from 'node:assert/strict';

/** An AWS SDK error, with the HTTP status the service answered. */
export type AwsCallError = Error & { $metadata?: { httpStatusCode?: number } };

/** Awaits a rejection and returns the error for assertions on its AWS shape. */
export async function failure(promise: Promise<unknown>): Promise<AwsCallError> {
  try {
    await promise;
  } catch (error) {
    return error as AwsCallError;
  }
  assert.fail('expected the call to fail');
}
