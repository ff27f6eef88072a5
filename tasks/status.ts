import { awsPreflight } from '../src/aws/stages/preflight.js';
import { PROFILE_OPTION } from '../src/aws/resources/profile-option.js';
import type { TaskDefinition } from '../src/task.js';

export const statusTask: TaskDefinition = {
  name: 'status',
  description: 'Show what is deployed for the stage: URL, live version, deployed vs local code',
  dependencies: [],
  explicitOnly: true,
  options: { profile: PROFILE_OPTION },
  preflight: awsPreflight,
  async run(ctx) {
    const [{ withAwsClients }, { describeStatus, stageStatus }] = await Promise.all([import('../src/aws/resources/task-clients.js'), import('../src/aws/stages/status.js')]);
    const status = await withAwsClients(ctx, (clients) => stageStatus({ config: ctx.config, clients, reporter: ctx.reporter, signal: ctx.signal }));
    for (const line of describeStatus(status, ctx.config.stage)) ctx.io.print(line);
    if (!status.exists) return { summary: 'not deployed' };
    return { summary: `${status.url ?? 'no URL'} (version ${status.liveVersion ?? 'none'}${status.upToDate === false ? ', local code differs' : ''})` };
  },
};
