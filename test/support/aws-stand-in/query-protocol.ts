import { randomUUID } from 'node:crypto';
import { AwsError, IAM_NS, STS_NS, xmlEscape } from './errors.js';
import type { ApiResponse } from './context.js';

/** A value rendered as XML: objects become elements, arrays become <member> lists. */
export type XmlValue = string | number | boolean | undefined | XmlValue[] | { [key: string]: XmlValue };

export function toXml(value: XmlValue): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map((item) => `<member>${toXml(item)}</member>`).join('');
  if (typeof value === 'object') {
    return Object.entries(value)
      .filter(([, inner]) => inner !== undefined)
      .map(([key, inner]) => `<${key}>${toXml(inner)}</${key}>`)
      .join('');
  }
  return xmlEscape(String(value));
}

/** <ActionResponse xmlns=...><ActionResult>...</ActionResult><ResponseMetadata>...</ResponseMetadata></ActionResponse> */
export function queryResponse(service: 'iam' | 'sts', action: string, result?: { [key: string]: XmlValue }): ApiResponse {
  const ns = service === 'iam' ? IAM_NS : STS_NS;
  const inner = result === undefined ? '' : `<${action}Result>${toXml(result)}</${action}Result>`;
  return {
    status: 200,
    headers: { 'content-type': 'text/xml' },
    body:
      `<${action}Response xmlns="${ns}">${inner}` +
      `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
  };
}

/** Reads `Prefix.member.N` (scalars) from a query request. */
export function memberList(params: URLSearchParams, prefix: string): string[] {
  const values: string[] = [];
  for (let i = 1; params.has(`${prefix}.member.${i}`); i++) values.push(params.get(`${prefix}.member.${i}`)!);
  return values;
}

/** Reads `Prefix.member.N.Key` / `.Value` pairs. */
export function memberTags(params: URLSearchParams, prefix = 'Tags'): Array<{ Key: string; Value: string }> {
  const tags: Array<{ Key: string; Value: string }> = [];
  for (let i = 1; params.has(`${prefix}.member.${i}.Key`); i++) {
    tags.push({ Key: params.get(`${prefix}.member.${i}.Key`)!, Value: params.get(`${prefix}.member.${i}.Value`) ?? '' });
  }
  return tags;
}

/** A required query parameter, failing as AWS's query front end does. */
export function required(params: URLSearchParams, name: string): string {
  const value = params.get(name);
  if (value === null) {
    const member = name.charAt(0).toLowerCase() + name.slice(1);
    throw new AwsError('ValidationError', `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`, 400);
  }
  return value;
}
