import { PROFILE_OPTION } from '../src/aws/resources/profile-option.js';
import { UsageError } from '../src/errors.js';
import type { TaskDefinition } from '../src/task.js';

type Options = Readonly<Record<string, unknown>>;

function diffOptions(options: Options): { against: string; data?: string; show: number } {
  const against = options.against ?? 'live';
  if (typeof against !== 'string' || against.trim() === '') throw new UsageError('DIFF_BAD_AGAINST', '--against expects live, a version number, or a package directory');
  const data = options.data;
  if (data !== undefined && (typeof data !== 'string' || data === '')) throw new UsageError('DIFF_BAD_OPTION', '--data expects a CSV file');
  const show = options.show ?? 5;
  if (typeof show !== 'number' || !Number.isInteger(show) || show < 0) throw new UsageError('DIFF_BAD_OPTION', `--show must be a whole number of rows, got ${String(show)}`);
  return { against, ...(data === undefined ? {} : { data: data as string }), show };
}

/** A deployed version to compare with: credentials are needed. */
const deployedSide = (against: string): boolean => against === 'live' || /^\d+$/.test(against);

export const diffTask: TaskDefinition = {
  name: 'diff',
  description: 'Compare the local package with the live version (or --against VERSION|DIR): the cards, and the decisions, scores and reasons on the validation rows (--data FILE.csv)',
  dependencies: ['package'],
  explicitOnly: true,
  options: {
    against: { type: 'string', describe: 'live (the default), a published version number, or a package directory (build/package-shaped)', default: 'live' },
    data: { type: 'string', describe: 'The table to compare on (default: the validation rows of model.data)' },
    show: { type: 'number', describe: 'Rows with the largest changes to list', default: 5 },
    profile: PROFILE_OPTION,
  },
  checkOptions: (options) => void diffOptions(options),
  async preflight(ctx) {
    if (deployedSide(diffOptions(ctx.options).against)) await (await import('../src/aws/stages/preflight.js')).awsPreflight(ctx);
  },
  async run(ctx) {
    const [{ diffPackages }, { diffText, diffMarkdown }] = await Promise.all([import('../src/diff/run-diff.js'), import('../src/diff/report.js')]);
    const report = await diffPackages(ctx, diffOptions(ctx.options));
    ctx.io.print(diffText(report));
    const s = report.scores;
    const headline = s
      ? [s.flipRate !== undefined ? `${(s.flipRate * 100).toFixed(1)}% ${s.outcomeIs}s flip` : undefined, s.psi ? `PSI ${s.psi.value.toFixed(3)} (${s.psi.reading})` : undefined, `${report.card.length} card change(s)`].filter(Boolean).join(', ')
      : `${report.card.length} card change(s); scores not compared`;
    return { summary: `${report.old.label} -> ${report.new.label}: ${headline}`, markdown: diffMarkdown(report), data: { diff: report } };
  },
};
