import type { TaskContext } from '../../task.js';
import { clientOptionsOf, createAwsClients, type AwsClients } from './clients.js';


/** Runs `fn` with SDK clients for the task's stage and region, and releases their sockets after. */
export async function withAwsClients<T>(ctx: Pick<TaskContext, 'config' | 'options'>, fn: (clients: AwsClients) => Promise<T>): Promise<T> {
  const clients = createAwsClients(clientOptionsOf(ctx.config, ctx.options));
  try {
    return await fn(clients);
  } finally {
    clients.destroy();
  }
}
