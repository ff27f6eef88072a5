import { awsPreflight } from '../src/aws/stages/preflight.js';
import { PROFILE_OPTION } from '../src/aws/resources/profile-option.js';
import { ACCEPT_DIFF_OPTION, checkReleaseGate } from '../src/diff/release-gate.js';
import type { TaskDefinition } from '../src/task.js';
import { rolloutMarkdown } from '../src/aws/rules/rollout-markdown.js';

export const updateTask: TaskDefinition = {
  name: 'update',
  description: 'Push new code to the existing deployment (fast path), smoke test, move the live alias only if it passes',
  dependencies: ['package'],
  options: {
    profile: PROFILE_OPTION,
    'accept-diff': ACCEPT_DIFF_OPTION,
    slim: { type: 'boolean', describe: 'The deployment uses slim mode (deps via S3)', default: false },
  },
  preflight: awsPreflight,
  async run(ctx) {
    await checkReleaseGate(ctx);
    const [{ withAwsClients }, { updateStageCode }] = await Promise.all([import('../src/aws/resources/task-clients.js'), import('../src/aws/stages/update.js')]);
    const { result, bytesUploaded } = await withAwsClients(ctx, async (clients) => ({
      result: await updateStageCode({ config: ctx.config, clients, reporter: ctx.reporter, signal: ctx.signal, allowSlim: ctx.options.slim === true }),
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
