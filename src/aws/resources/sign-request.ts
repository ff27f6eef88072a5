import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';

/** Credentials as the SDK's providers return them. */
export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

type Bytes = string | ArrayBuffer | ArrayBufferView;

const toBuffer = (data: Bytes): Buffer =>
  typeof data === 'string' ? Buffer.from(data, 'utf8') : ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);

/** Node's sha256 in the shape the signer expects (an HMAC when constructed with a secret). */
class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: Bytes) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: Bytes): void {
    this.hash.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

/**
 * Signs an HTTP request with AWS Signature Version 4 (the SDK's signer), as an AWS_IAM Function URL
 * requires (service "lambda"). Returns the headers to send, including the Authorization header.
 */
export async function signRequest(args: {
  method: string; url: URL; headers: Record<string, string>; body: string; region: string; service: string; credentials: SigningCredentials; now?: Date;
}): Promise<Record<string, string>> {
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(args.url.searchParams.keys())) {
    const values = args.url.searchParams.getAll(key);
    query[key] = values.length === 1 ? values[0]! : values;
  }
  const signer = new SignatureV4({ credentials: args.credentials, region: args.region, service: args.service, sha256: NodeSha256 });
  const signed = await signer.sign(
    {
      method: args.method.toUpperCase(),
      protocol: args.url.protocol,
      hostname: args.url.hostname,
      port: args.url.port ? Number(args.url.port) : undefined,
      path: args.url.pathname,
      query,
      headers: { ...Object.fromEntries(Object.entries(args.headers).map(([k, v]) => [k.toLowerCase(), v.trim()])), host: args.url.host },
      body: args.body,
    },
    { signingDate: args.now ?? new Date() },
  );
  return Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
}
