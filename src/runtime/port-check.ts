import { createServer } from 'node:net';
import { PipeError } from '../errors.js';

/**
 * Fails when `host:port` cannot be listened on (another process has it), so that `pipe serve` says so
 * before it builds anything. Port 0 (any free port) always passes. The port is released at once: a
 * process taking it in between is still caught when the server starts.
 */
export async function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PipeError(code === 'EADDRINUSE' ? 'SERVE_PORT_IN_USE' : 'SERVE_LISTEN_FAILED', `Cannot listen on ${host}:${port}: ${code === 'EADDRINUSE' ? 'another process uses that port' : (code ?? String(error))}`, {
      cause: error,
      hint: 'Pass another port with --port, or --port 0 for any free port. Nothing was built.',
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
