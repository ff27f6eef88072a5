import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { until } from './cli.js';

/**
 * A real podman service, on a socket of its own, that answers the Docker API but cannot start any
 * container: its containers.conf asks for an open-files rlimit above what the kernel allows, so runc
 * fails with "error setting rlimit type 7: operation not permitted" and podman reports "OCI permission
 * denied" (exit 126). That is what a service started before the engine's configuration was written
 * does. The test that starts it stops it.
 */
export interface BrokenEngine {
  socket: string;
  dockerHost: string;
  pid: number;
  /** Resolves once the service process has exited (stopped by `stop`, or by someone else). */
  exited: Promise<void>;
  stop(): Promise<void>;
}

/** Why a second podman service cannot be started here, or undefined when it can. */
export function brokenEngineSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (podman system service with its own configuration)';
  if (spawnSync('podman', ['--version'], { stdio: 'ignore' }).status !== 0) return 'podman is not installed (scripts/ensure-podman.sh)';
  if (!existsSync('/bin/busybox')) return '/bin/busybox missing (apt-get install busybox-static)';
  return undefined;
}

export async function startBrokenEngine(): Promise<BrokenEngine> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'pipe-broken-engine-'));
  const conf = path.join(dir, 'containers.conf');
  // Above fs.nr_open (1048576 by default): even root may not set it.
  const nofile = 99_999_999;
  await writeFile(conf, `[containers]\ndefault_ulimits = ["nofile=${nofile}:${nofile}"]\n\n[engine]\nruntime = "runc"\n`);
  const socket = path.join(dir, 'podman.sock');
  const child: ChildProcess = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
    env: { ...process.env, CONTAINERS_CONF: conf },
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const docker = new Docker({ socketPath: socket });
  let gone = false;
  void exited.then(() => (gone = true));
  await until(async () => gone || (existsSync(socket) && (await docker.ping().then(() => true, () => false))), 20_000, 'the broken podman service');
  if (gone) throw new Error('podman system service exited at start');
  return {
    socket,
    dockerHost: `unix://${socket}`,
    pid: child.pid!,
    exited,
    async stop() {
      if (!gone) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
