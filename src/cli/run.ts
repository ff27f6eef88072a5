import { EXIT } from '../errors.js';
import { killRunningGroups } from '../util/running-groups.js';
import { main } from './main.js';

/**
 * Process entry: wires SIGINT/SIGTERM to an AbortSignal every task receives. The first signal stops the
 * run (containers removed, lock released, exit 130); a second one exits at once: host commands still
 * running are killed, the `--json` summary written.
 */
export async function run(): Promise<void> {
  // The SDK's notice that its releases after January 2027 need Node 22 is for pipe's maintainers (the
  // SDK version is locked), not a problem with this run; --verbose still shows it.
  if (!process.argv.includes('--verbose')) process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const controller = new AbortController();
  let signals = 0;
  let beforeForcedExit: ((name: NodeJS.Signals) => void) | undefined;
  const onSignal = (name: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      killRunningGroups();
      beforeForcedExit?.(name);
      process.exit(EXIT.interrupted);
    }
    process.stderr.write(`\n${name}: stopping (again to force)...\n`);
    controller.abort(new Error(name));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The terminal went away: stop like Ctrl-C rather than die with containers and the lock left behind.
  process.on('SIGHUP', onSignal);
  const code = await main(process.argv.slice(2), controller.signal, (last) => (beforeForcedExit = last));
  process.exitCode = code;
  // Keep-alive sockets (Docker, AWS) must not hold the process open once the run is over.
  setTimeout(() => process.exit(code), 1000).unref();
}
