import { awsPreflight } from '../src/aws/stages/preflight.js';
import { PROFILE_OPTION } from '../src/aws/resources/profile-option.js';
import { ACCEPT_DIFF_OPTION, checkReleaseGate } from '../src/diff/release-gate.js';
import type { TaskDefinition } from '../src/task.js';
import { rolloutMarkdown } from '../src/aws/rules/rollout-markdown.js';

export const deployTask: TaskDefinition = {
  name: 'deploy',
  description: 'Deploy the stage: bucket, IAM role, layer, function, alias, public Function URL, smoke test',
  dependencies: ['package'],
  options: {
    profile: PROFILE_OPTION,
    'accept-diff': ACCEPT_DIFF_OPTION,
    slim: { type: 'boolean', describe: 'Over the 250 MB unzipped limit, ship the deps via S3 and extract them to /tmp on cold start', default: false },
  },
  preflight: awsPreflight,
  async run(ctx) {
    await checkReleaseGate(ctx);
    const [{ withAwsClients }, { deployStage }] = await Promise.all([import('../src/aws/resources/task-clients.js'), import('../src/aws/stages/deploy.js')]);
    const { result, bytesUploaded } = await withAwsClients(ctx, async (clients) => ({
      result: await deployStage({ config: ctx.config, clients, reporter: ctx.reporter, signal: ctx.signal, allowSlim: ctx.options.slim === true }),
      bytesUploaded: clients.meter.bytesUploaded,
    }));
    ctx.io.print(result.url);
    const rollout = result.rollout ? `, ${result.rollout.strategy} rollout in ${result.rollout.steps.length} step${result.rollout.steps.length === 1 ? '' : 's'}` : '';
    return {
      summary: `${result.url} (version ${result.version}${result.changed ? '' : ', unchanged'}${rollout})`,
      url: result.url,
      bytesUploaded,
      ...(result.rollout ? { markdown: rolloutMarkdown(result.rollout) } : {}),
      data: { version: result.version, changed: result.changed, ...(result.rollout ? { rollout: result.rollout } : {}), ...(result.removed ? { removed: result.removed } : {}) },
    };
  },
};
