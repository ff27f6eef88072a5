import { errorName } from './aws-errors.js';

/**
 * Lambda refuses changes while an update is in progress (409); they succeed once it settles. The same
 * exception also says "already exists" (statement id, alias, URL config): retrying that cannot help.
 */
export const isConflict = (error: unknown): boolean =>
  errorName(error) === 'ResourceConflictException' && !/already exists|\bexists\b/i.test((error as Error).message ?? '');

/** A freshly created IAM role takes seconds to become assumable by Lambda (eventual consistency). */
export const isRoleNotReady = (error: unknown): boolean =>
  errorName(error) === 'InvalidParameterValueException' && /cannot be assumed|role defined for the function/i.test((error as Error).message);
