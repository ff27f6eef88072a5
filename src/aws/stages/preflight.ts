import type { TaskContext } from '../../task.js';

/** The preflight of every task that talks to AWS: credentials that STS accepts, checked before any work. */
export async function awsPreflight(ctx: Pick<TaskContext, 'config' | 'options' | 'signal'>): Promise<void> {
  const [{ withAwsClients }, { checkCredentials }] = await Promise.all([import('../resources/task-clients.js'), import('../resources/credentials.js')]);
  await withAwsClients(ctx, (clients) => checkCredentials(clients, ctx.signal));
}
