import { CommandError, PipeError } from '../errors.js';
import { engineMessage } from './docker-image.js';

/** runc/docker: `exec: "python3": executable file not found in $PATH`; crun: "executable file `python3` not found". */
const EXECUTABLE_MISSING = /executable file (not found|`[^`]*` not found)|exec: "[^"]*": (stat [^:]*: )?(no such file or directory|not found)/i;
/** runc/docker: `exec: "/x.sh": permission denied`; crun: "open executable: Permission denied". */
const EXECUTABLE_DENIED = /exec: "[^"]*": permission denied|open executable: permission denied/i;

const ENGINE_CHECK_HINT =
  'No command ran: the engine could not start a container at all. Check that it runs any container ' +
  '(`docker run --rm IMAGE true`; with podman also `podman run --rm IMAGE true`). "OCI permission denied" or ' +
  '"error setting rlimit" usually means the engine\'s configuration (containers.conf: default_ulimits = [], ' +
  'runtime = "runc" on machines like this one) changed after its service started: restart the service ' +
  '(scripts/ensure-podman.sh checks and restarts the podman service it manages).';

/**
 * A container that did not start. The engine answers the start (podman: the attach) with an error and
 * leaves the container Created. Two failures look alike there, and podman gives both exit code 126:
 * - the command's executable is missing or not executable in the image: the shell's 127/126, a
 *   CommandError like any failed command (a step can try another interpreter);
 * - the OCI runtime could not create the container (an rlimit, a mount, cgroups): no command ran, the
 *   engine's setup is at fault, and its own message says how.
 */
export function containerStartError(error: unknown, command: string, where: string): PipeError {
  const message = engineMessage(error);
  if (EXECUTABLE_MISSING.test(message)) {
    return new CommandError({ command, exitCode: 127, where, stderrTail: [`executable not found in the image: ${message}`] });
  }
  if (EXECUTABLE_DENIED.test(message)) {
    return new CommandError({ command, exitCode: 126, where, stderrTail: [`cannot execute: ${message}`] });
  }
  return new PipeError('CONTAINER_START_FAILED', `the container engine could not start a container (${where}) for ${command}: ${message}`, {
    hint: ENGINE_CHECK_HINT,
    cause: error,
  });
}
