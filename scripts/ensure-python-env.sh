#!/usr/bin/env bash
# Creates (or refreshes) the Python test environment at .venv-test/ with the training and test
# requirements. A stamp holding the hash of the requirement files (and the interpreter version)
# makes a repeat run a fast no-op; the venv's interpreter is .venv-test/bin/python.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-test"
stamp="$venv/.requirements.sha256"
python="${PIPE_PYTHON:-python3}"
reqs=("$root/python/requirements.txt" "$root/test/python/requirements.txt")

want="$( { "$python" --version 2>&1; cat "${reqs[@]}"; } | sha256sum | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi

echo "python env: building $venv" >&2
rm -rf "$venv"
"$python" -m venv "$venv"

# No bytecode at install: compiling every module of scipy, pandas, scikit-learn and the rest is most of
# the install's CPU time, and the tests import a fraction of them (compiled once, at first import).
pip_args=(--quiet --disable-pip-version-check --no-compile)
# Without a route to the default index every lookup would retry for minutes before pip falls back
# to the configured local indexes / find-links: fail the unreachable index fast instead.
if ! "$python" -c 'import socket; socket.getaddrinfo("pypi.org", 443)' 2>/dev/null; then
  pip_args+=(--retries 0 --timeout 5)
fi
req_args=()
for r in "${reqs[@]}"; do req_args+=(-r "$r"); done
"$venv/bin/pip" install "${pip_args[@]}" "${req_args[@]}"

echo "$want" > "$stamp"
echo "python env: ready" >&2
