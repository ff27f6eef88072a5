/**
 * Finds the line of a config key such as `stages.prod.function.memory` in the config's source, so that
 * an error can point at it (CI annotations). The config is code, not data: this reads it as text,
 * looking for each segment of the path as an object key (`key:`) after the previous one. When a segment is not
 * written literally (a computed key, a spread), the line of the last segment found is returned; when
 * none is found, undefined.
 */
export function locateKey(source: string, keyPath: string): { line: number; column: number } | undefined {
  const segments = keyPath.replace(/\[\d+\]/g, '').split('.').filter(Boolean);
  let from = 0;
  let found: number | undefined;
  for (const segment of segments) {
    const escaped = segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    // A key: bare or quoted, after `{`, `,` or white space, followed by `:`.
    const pattern = new RegExp(`(^|[{,\\s])(['"\`]?)${escaped}\\2\\s*:`, 'gm');
    pattern.lastIndex = from;
    const match = pattern.exec(source);
    if (!match) break;
    found = match.index + match[1]!.length;
    from = found + segment.length;
  }
  if (found === undefined) return undefined;
  const before = source.slice(0, found);
  const line = before.split('\n').length;
  return { line, column: found - before.lastIndexOf('\n') };
}
