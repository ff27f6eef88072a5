import { PipeError } from '../../errors.js';
import type { TaskContext } from '../../task.js';

/** An HTTP request to a Function URL, as a signer sees it. */
export interface UrlRequest {
  method: string;
  url: string;
  body?: Uint8Array<ArrayBuffer> | string;
  contentType?: string;
}

/** The stage's live Function URL, and the headers a request to it needs (a SigV4 signature under AWS_IAM). */
export interface LiveUrl {
  url: string;
  auth: string;
  sign(request: UrlRequest): Promise<Record<string, string>>;
}

/** The live Function URL of the stage, and a signer when the URL only takes signed requests. */
export async function liveUrl(ctx: TaskContext): Promise<LiveUrl> {
  const [{ withAwsClients }, { stageStatus }, { signRequest }] = await Promise.all([
    import('../resources/task-clients.js'),
    import('./status.js'),
    import('../resources/sign-request.js'),
  ]);
  return withAwsClients(ctx, async (clients) => {
    const status = await stageStatus({ config: ctx.config, clients, reporter: ctx.reporter, signal: ctx.signal });
    if (!status.url) {
      throw new PipeError('NOT_DEPLOYED', `Stage "${ctx.config.stage}" has no deployed Function URL`, { hint: 'Run `npx pipe deploy` first.' });
    }
    // Credentials are resolved now: the clients are released when this callback returns.
    const credentials = ctx.config.url.auth === 'AWS_IAM' ? await clients.lambda.config.credentials() : undefined;
    return {
      url: status.url,
      auth: ctx.config.url.auth,
      sign: async (r: UrlRequest) => {
        const headers: Record<string, string> = r.contentType ? { 'content-type': r.contentType } : {};
        if (!credentials) return headers;
        const body = typeof r.body === 'string' ? r.body : r.body ? Buffer.from(r.body).toString('utf8') : '';
        return signRequest({ method: r.method, url: new URL(r.url), headers, body, region: ctx.config.region, service: 'lambda', credentials });
      },
    };
  });
}
