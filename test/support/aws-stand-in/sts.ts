import { AwsError } from './errors.js';
import type { ApiRequest, RoutedCall, StandInContext } from './context.js';
import { queryResponse } from './query-protocol.js';

/** The user id of the stand-in's caller (stable, shaped like an IAM user id). */
export const CALLER_USER_ID = 'AIDASTANDINCALLER0001';

/** Matches an STS query request to its action; only GetCallerIdentity is served. */
export function routeSts(ctx: StandInContext, req: ApiRequest): RoutedCall {
  const params = new URLSearchParams(req.body.toString('utf8'));
  const action = params.get('Action') ?? '';
  return {
    service: 'sts',
    action,
    resource: () => '*',
    run: async () => {
      if (action !== 'GetCallerIdentity') {
        throw new AwsError('InvalidAction', `Could not find operation ${action} for version 2011-06-15`, 400);
      }
      return queryResponse('sts', 'GetCallerIdentity', {
        Arn: ctx.callerArn,
        UserId: CALLER_USER_ID,
        Account: ctx.state.accountId,
      });
    },
  };
}
