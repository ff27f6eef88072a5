import { awsPreflight } from '../src/aws/stages/preflight.js';
import { PROFILE_OPTION } from '../src/aws/resources/profile-option.js';
import { UsageError } from '../src/errors.js';
import type { TaskDefinition } from '../src/task.js';

export const undeployTask: TaskDefinition = {
  name: 'undeploy',
  description: 'Remove everything pipe created for the stage (asks first unless --yes)',
  dependencies: [],
  options: {
    profile: PROFILE_OPTION,
    'remove-logs': { type: 'boolean', describe: 'Also delete the CloudWatch log group', default: false },
  },
  preflight: awsPreflight,
  async run(ctx) {
    const what = `everything pipe created for stage "${ctx.config.stage}" of ${ctx.config.app} in ${ctx.config.region}`;
    if (ctx.options.yes !== true) {
      // Never wait for an answer nobody can give (CI, pipes).
      if (!ctx.io.interactive) {
        throw new UsageError('CONFIRMATION_REQUIRED', `undeploy would remove ${what}, and there is no terminal to confirm it`, {
          hint: 'Pass --yes to confirm.',
        });
      }
      if (!(await ctx.io.confirm(`Remove ${what}?`))) {
        ctx.reporter.line('cancelled: nothing was removed');
        return { summary: 'cancelled' };
      }
    }
    const removeLogs = ctx.options['remove-logs'] === true || ctx.options.removeLogs === true;
    const [{ withAwsClients }, { undeployStage }] = await Promise.all([import('../src/aws/resources/task-clients.js'), import('../src/aws/stages/undeploy.js')]);
    const result = await withAwsClients(ctx, (clients) =>
      undeployStage({ config: ctx.config, clients, reporter: ctx.reporter, signal: ctx.signal, removeLogs }),
    );
    return { summary: `${result.removed.length} resource(s) removed` };
  },
};
