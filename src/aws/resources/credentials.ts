import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { PipeError } from '../../errors.js';
import { CREDENTIALS_HINT } from '../rules/aws-errors.js';
import type { AwsClients } from './clients.js';

export interface CallerIdentity {
  account: string;
  arn: string;
}

/**
 * Asks STS who we are before touching anything: missing or rejected credentials then fail up front
 * with what to do, instead of half-way through a deploy.
 */
export async function checkCredentials(clients: AwsClients, signal?: AbortSignal): Promise<CallerIdentity> {
  const identity = await clients.sts.send(new GetCallerIdentityCommand({}), { abortSignal: signal });
  if (!identity.Account || !identity.Arn) {
    throw new PipeError('AWS_CREDENTIALS_INVALID', 'STS GetCallerIdentity returned no account', { hint: CREDENTIALS_HINT });
  }
  return { account: identity.Account, arn: identity.Arn };
}
