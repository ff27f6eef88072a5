import { randomBytes } from 'node:crypto';
import type { AuditLogMode } from '../../config/schema.js';

/** What the function logs per prediction (decisions | full | off). */
export const AUDIT_LOG_ENV = 'PIPE_AUDIT_LOG';
/** The secret the function salts each record's hash with, so a hash cannot be matched to a guessed record. */
const AUDIT_SALT_ENV = 'PIPE_AUDIT_SALT';

const SALT = /^[0-9a-f]{64}$/;

const newAuditSalt = (): string => randomBytes(32).toString('hex');

/**
 * The audit variables of the function's environment. The salt is made once, at the first deploy, and
 * read back from the deployed configuration afterwards: a new salt would make the same record hash
 * differently before and after a deploy. It is never printed.
 */
export function auditEnvironment(mode: AuditLogMode, deployed: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const current = deployed?.[AUDIT_SALT_ENV];
  return { [AUDIT_LOG_ENV]: mode, [AUDIT_SALT_ENV]: current !== undefined && SALT.test(current) ? current : newAuditSalt() };
}
