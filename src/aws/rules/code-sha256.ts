/** Lambda reports CodeSha256 as base64 of the raw digest; the package manifest stores hex. */
export const codeSha256OfHex = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');
export const hexOfCodeSha256 = (b64: string): string => Buffer.from(b64, 'base64').toString('hex');
