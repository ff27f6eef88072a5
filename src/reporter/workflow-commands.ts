/**
 * GitHub Actions workflow commands: lines starting with `::` that the runner reads from a step's
 * output. Data and property values are escaped as the runner unescapes them (actions/toolkit's
 * command.ts), so a message with newlines or colons arrives whole.
 */
export type AnnotationLevel = 'error' | 'warning' | 'notice';

export interface AnnotationProperties {
  title?: string;
  /** Path relative to the repository root (GITHUB_WORKSPACE). */
  file?: string;
  line?: number;
  col?: number;
}

const escapeData = (text: string): string => text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');

const escapeProperty = (text: string): string => escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');

/** `::error file=…,line=…,title=…::message` */
export function annotation(level: AnnotationLevel, message: string, props: AnnotationProperties = {}): string {
  const parts = Object.entries(props)
    .filter(([, value]) => value !== undefined && value !== '')
    .map(([key, value]) => `${key}=${escapeProperty(String(value))}`);
  return `::${level}${parts.length ? ` ${parts.join(',')}` : ''}::${escapeData(message)}`;
}

/** Opens a collapsible group in the log. */
export const groupStart = (title: string): string => `::group::${escapeData(title)}`;

export const GROUP_END = '::endgroup::';
