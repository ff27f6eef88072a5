import { PipeError } from '../errors.js';
import type { TaskContext, TaskOption } from '../task.js';

export const ACCEPT_DIFF_OPTION: TaskOption = { type: 'boolean', describe: "Deploy even when release.gate refuses the diff against live (this run only)", default: false };

/**
 * release.gate: before deploy or update writes anything, the local package is compared with the live one
 * on the validation rows; more flips or a larger score shift than the gate allows stops the run (exit 1)
 * with the numbers. No gate, --accept-diff, or nothing live yet: the run goes on, and says why.
 */
export async function checkReleaseGate(ctx: TaskContext): Promise<void> {
  const gate = ctx.config.release?.gate;
  if (!gate || (gate.maxFlipRate === undefined && gate.maxScorePsi === undefined)) return;
  const step = ctx.reporter.step('release gate: diff against live');
  const [{ diffPackages, gateFailures }, { diffText }] = await Promise.all([import('./run-diff.js'), import('./report.js')]);
  let report;
  try {
    report = await diffPackages(ctx, { against: 'live', show: 5 });
  } catch (error) {
    if (error instanceof PipeError && error.code === 'NOT_DEPLOYED') {
      step.done('nothing live yet: no diff to gate');
      return;
    }
    step.fail(error);
    throw error;
  }
  const failures = gateFailures(report, gate);
  if (failures.length === 0) {
    step.done(`passed (${report.scores?.flipRate === undefined ? '' : `${(report.scores.flipRate * 100).toFixed(2)}% flip, `}PSI ${report.scores?.psi?.value.toFixed(3) ?? '-'})`);
    return;
  }
  if (ctx.options['accept-diff'] === true) {
    for (const failure of failures) step.line(`accepted with --accept-diff: ${failure}`, 'warn');
    step.done('refused, accepted with --accept-diff');
    return;
  }
  for (const line of diffText(report).split('\n')) step.line(line, 'info');
  const error = new PipeError('RELEASE_GATE', `release.gate refused the change against ${report.old.label}: ${failures.join('; ')}`, {
    hint: 'Nothing was written. Look at the diff above (`npx pipe diff` shows it again); deploy anyway with --accept-diff, or change release.gate.',
  });
  step.fail(error);
  throw error;
}
