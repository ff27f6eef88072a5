import { GetFunctionConfigurationCommand, type FunctionConfiguration } from '@aws-sdk/client-lambda';
import { setTimeout as sleep } from 'node:timers/promises';
import { PipeError } from '../../errors.js';
import type { AwsClients } from './clients.js';

/**
 * Waits until a function (or a published version) is Active and its last update Successful.
 * The SDK's waiters (waitUntilFunctionActiveV2 / waitUntilFunctionUpdatedV2) retry on *any* error,
 * so an AccessDenied would spin until the timeout; this loop fails at once on errors and on the
 * Failed states, naming Lambda's reason, and stops when the run is cancelled.
 */
export async function waitFunctionReady(clients: AwsClients, functionName: string, qualifier?: string, signal?: AbortSignal): Promise<FunctionConfiguration> {
  const { minDelay, maxDelay, maxWait } = clients.poll;
  const deadline = Date.now() + maxWait * 1000;
  for (let attempt = 0; ; attempt += 1) {
    const config = await clients.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName, Qualifier: qualifier }), { abortSignal: signal });
    const where = qualifier ? `${functionName}:${qualifier}` : functionName;
    if (config.State === 'Failed') {
      throw new PipeError('LAMBDA_FUNCTION_FAILED', `Lambda could not start ${where}: ${config.StateReasonCode ?? ''} ${config.StateReason ?? ''}`.trim());
    }
    if (config.LastUpdateStatus === 'Failed') {
      throw new PipeError('LAMBDA_UPDATE_FAILED', `Lambda could not apply the update to ${where}: ${config.LastUpdateStatusReasonCode ?? ''} ${config.LastUpdateStatusReason ?? ''}`.trim());
    }
    const settled = (config.State === 'Active' || config.State === 'Inactive') && config.LastUpdateStatus !== 'InProgress';
    if (settled) return config;
    const delay = Math.min(maxDelay, minDelay * 1.5 ** attempt) * 1000;
    if (Date.now() + delay > deadline) {
      throw new PipeError('LAMBDA_WAIT_TIMEOUT', `${where} is still ${config.State}/${config.LastUpdateStatus} after ${maxWait} s`, {
        hint: 'Run the same command again: it continues where this one stopped.',
      });
    }
    await sleep(delay, undefined, { signal });
  }
}
