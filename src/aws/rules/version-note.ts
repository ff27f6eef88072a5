import type { ModelSummary } from '../../packaging/artifacts.js';

/**
 * What pipe records with each version it publishes, in the version's Description (at most 256
 * characters, kept with the version by Lambda): the model, the git commit, and the version live
 * pointed at before, which `pipe rollback` goes back to. One line a person can read in the console too:
 *
 *   pipe: model=credit-default-risk@1bb7c23ac294 roc_auc=0.7407 commit=3f2a9c1 previous=4
 */
export interface VersionNote {
  model?: string;
  modelVersion?: string;
  metric?: { name: string; value: number };
  commit?: string;
  /** The version `live` pointed at when this one was published. */
  previous?: string;
}

const PREFIX = 'pipe:';
const MAX = 256;

/** Names as the description holds them: no spaces or '=' (which separate the fields). */
const token = (text: string): string => text.replace(/[\s=]+/g, '_');

export function versionDescription(model: ModelSummary | undefined, commit: string | undefined, previous: string | undefined): string {
  const fields = [
    ...(model ? [`model=${token(model.name)}@${token(model.version)}`] : []),
    ...(model?.metric ? [`${token(model.metric.name)}=${Number(model.metric.value.toFixed(4))}`] : []),
    ...(commit ? [`commit=${token(commit)}`] : []),
    ...(previous ? [`previous=${previous}`] : []),
  ];
  return [PREFIX, ...fields].join(' ').slice(0, MAX);
}

/** The note of a version's Description, or undefined when pipe did not write it. */
export function parseVersionNote(description: string | undefined): VersionNote | undefined {
  if (!description?.startsWith(PREFIX)) return undefined;
  const note: VersionNote = {};
  for (const field of description.slice(PREFIX.length).trim().split(/\s+/).filter(Boolean)) {
    const at = field.indexOf('=');
    if (at < 0) continue;
    const key = field.slice(0, at);
    const value = field.slice(at + 1);
    if (key === 'model') {
      const split = value.lastIndexOf('@');
      note.model = split < 0 ? value : value.slice(0, split);
      if (split >= 0) note.modelVersion = value.slice(split + 1);
    } else if (key === 'commit') note.commit = value;
    else if (key === 'previous') note.previous = value;
    else if (Number.isFinite(Number(value))) note.metric = { name: key, value: Number(value) };
  }
  return note;
}
