import type Docker from 'dockerode';
import { InterruptedError, PipeError, UsageError } from '../errors.js';
import type { StepReporter } from '../reporter/reporter.js';
import type { Runtime } from '../config/schema.js';
import { runtimePythonVersion } from '../lambda/facts.js';

/** One JSON message of the engine's pull stream (POST /images/create). */
export interface PullEvent {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
}

function statusCode(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'statusCode' in error && typeof error.statusCode === 'number'
    ? error.statusCode
    : undefined;
}

/** The engine's own words from a dockerode HTTP error ("(HTTP code 404) no such image - ..." -> the JSON message). */
export function engineMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'json' in error) {
    const json = (error as { json?: unknown }).json;
    if (typeof json === 'object' && json !== null && 'message' in json && typeof json.message === 'string') return json.message;
    if (typeof json === 'string' && json.trim()) return json.trim();
  }
  // Streamed endpoints (pull, attach) carry the engine's words only in the message, after the status.
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^\(HTTP code \d+\) .*? - /, '').trim();
}

/** Image id when the engine has `image`, undefined when it does not. */
export async function localImageId(docker: Docker, image: string): Promise<string | undefined> {
  try {
    const info = await docker.getImage(image).inspect();
    return info.Id;
  } catch (error) {
    if (statusCode(error) === 404) return undefined;
    throw error;
  }
}

function pullFailed(image: string, message: string, cause?: unknown): PipeError {
  return new PipeError('IMAGE_PULL_FAILED', `could not pull image ${image}: ${message}`, {
    hint: 'Check the image name and your registry access, or set `image` in the config (or --image) to an image the engine has.',
    cause,
  });
}

/** Reports one pull event as per-layer progress; layer ids are shortened like docker's own output. */
function reportPullEvent(event: PullEvent, reporter: StepReporter): void {
  const layer = event.id ? `layer ${event.id.replace(/^sha256:/, '').slice(0, 12)}` : undefined;
  const detail = event.progressDetail;
  if (layer && detail && typeof detail.current === 'number') {
    reporter.progress({ label: layer, current: detail.current, total: detail.total || undefined, unit: 'bytes' });
  } else if (event.status) {
    reporter.line(layer ? `${layer}: ${event.status}` : event.status, 'info');
  }
}

/** Pulls `image`, streaming per-layer progress into `reporter`; the registry's error message on failure. */
async function pullImage(docker: Docker, image: string, reporter: StepReporter | undefined, signal?: AbortSignal): Promise<void> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = (await docker.pull(image, signal ? { abortSignal: signal } : {})) as NodeJS.ReadableStream;
  } catch (cause) {
    if (signal?.aborted) throw new InterruptedError(`Interrupted while pulling ${image}`);
    throw pullFailed(image, engineMessage(cause), cause);
  }
  const events = await new Promise<PullEvent[]>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null, output: PullEvent[]) => (error ? reject(error) : resolve(output)),
      (event: PullEvent) => {
        if (reporter && !event.error) reportPullEvent(event, reporter);
      },
    );
  }).catch((cause: unknown) => {
    if (signal?.aborted) throw new InterruptedError(`Interrupted while pulling ${image}`);
    throw pullFailed(image, engineMessage(cause), cause);
  });
  const failure = events.find((event) => event.error || event.errorDetail?.message);
  if (failure) throw pullFailed(image, failure.errorDetail?.message || failure.error || 'unknown error');
  if (signal?.aborted) throw new InterruptedError(`Interrupted while pulling ${image}`);
}

/** The image id of `image`, pulling it first when the engine lacks it. */
export async function ensureImage(docker: Docker, image: string, reporter: StepReporter | undefined, signal?: AbortSignal): Promise<string> {
  const present = await localImageId(docker, image);
  if (present) return present;
  reporter?.line(`pulling image ${image}`, 'info');
  await pullImage(docker, image, reporter, signal);
  const pulled = await localImageId(docker, image);
  if (!pulled) throw pullFailed(image, 'the engine reported success but does not list the image');
  return pulled;
}

/** Fails when the image's Python (e.g. "3.11.2") is not the one of the Lambda runtime (e.g. "python3.12"). */
export function checkImagePython(image: string, fullVersion: string, runtime: Runtime): void {
  const pythonVersion = fullVersion.split('.').slice(0, 2).join('.');
  const wanted = runtimePythonVersion(runtime);
  if (pythonVersion === wanted) return;
  throw new UsageError(
    'IMAGE_RUNTIME_MISMATCH',
    `image ${image} has Python ${pythonVersion}, but the Lambda runtime is ${runtime} (Python ${wanted})`,
    { hint: `Use a build image for ${runtime} (image in the config or --image), or set runtime: "python${pythonVersion}".` },
  );
}
