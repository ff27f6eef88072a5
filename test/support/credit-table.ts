/**
 * A German-credit-style table as a lender has it: the target `Status` is good/bad, the categories are
 * spelled-out words, `Savings` is often empty and `Bureau notes score` almost always. Deterministic.
 */
const pick = (random: () => number, levels: string[]) => levels[Math.floor(random() * levels.length)]!;

export function creditCsv(rows: number): string {
  let state = 987654;
  const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  const lines = ['Application No.,Checking account,Duration (months),Credit history,Savings,Purpose,Age (years),"Installment rate (% of income)",Bureau notes score,Status'];
  for (let i = 0; i < rows; i++) {
    const checking = pick(random, ['< 0 DM', '0 <= ... < 200 DM', '>= 200 DM', 'no checking account']);
    const duration = pick(random, ['6', '12', '18', '24', '36', '48']);
    const history = pick(random, ['no credits taken', 'all credits paid back duly', 'existing credits paid back duly', 'critical account']);
    const savings = random() < 0.2 ? '' : pick(random, ['< 100 DM', '100 <= ... < 500 DM', '>= 1000 DM']);
    const purpose = pick(random, ['car (new)', 'car (used)', 'furniture/equipment', 'radio/television', 'education', 'business']);
    const age = String(19 + Math.floor(random() * 55));
    const rate = String(1 + Math.floor(random() * 4));
    const notes = random() < 0.95 ? '' : (random() * 10).toFixed(1);
    const risk = -1 + (checking === '< 0 DM' ? 1.3 : checking === 'no checking account' ? -1 : 0) + Number(duration) / 30
      + (history === 'critical account' ? -0.6 : history === 'no credits taken' ? 0.9 : 0) - (Number(age) - 35) / 40
      + (savings === '< 100 DM' ? 0.5 : 0) + (purpose === 'education' ? 0.5 : 0);
    const status = random() < 1 / (1 + Math.exp(-risk)) ? 'bad' : 'good';
    lines.push([String(500001 + i), checking, duration, history, savings, purpose, age, rate, notes, status].map((v) => (v.includes(',') ? `"${v}"` : v)).join(','));
  }
  return `${lines.join('\n')}\n`;
}


/** The model settings a lender writes for that table (data in data/, LightGBM, a decision at 0.35). */
export const CREDIT_MODEL = {
  data: 'data/german credit.csv',
  target: 'Status',
  exclude: ['Application No.'],
  estimator: 'lightgbm',
  hyperparameters: { n_estimators: 40, num_leaves: 15 },
  decision: { threshold: 0.35, positive: 'decline', negative: 'approve' },
};
