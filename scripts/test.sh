#!/usr/bin/env bash
# The whole test suite: type-check, unit and integration tests (node:test), Python tests (pytest).
# Starts what the tests need first: podman behind the Docker API with the local build images (as root,
# installing them when missing), and the Python test environment.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

step() { printf '\n== %s\n' "$*"; }

step "build and type-check"
npx tsc -p tsconfig.json || exit 1
npx tsc -p tsconfig.check.json || exit 1

step "container engine"
if [ "$(id -u)" = 0 ]; then
  bash scripts/ensure-podman.sh || exit 1
  bash scripts/ensure-build-image.sh || exit 1
  # XGBoost is not a wheel on these machines: Debian's python3-xgboost produces the real models
  # and pred_contribs that the XGBoost exporter is checked against.
  bash scripts/ensure-xgboost.sh || exit 1
  bash scripts/ensure-chromium.sh || exit 1
fi
export DOCKER_HOST="${DOCKER_HOST:-unix:///tmp/podman.sock}"
# OpenMP (HistGradientBoosting, LightGBM) spins waiting threads: with the node tests' processes on
# the same two cores, a tiny fit can take a minute. One thread per process keeps the suite steady.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

step "python test environment"
bash scripts/ensure-python-env.sh || exit 1
export PIPE_TEST_PYTHON="$root/.venv-test/bin/python"

# The Python tests need no engine or network of their own: they run beside the node tests, whose
# integration tests spend much of their time waiting on servers and containers.
py_log="$(mktemp)"
"$PIPE_TEST_PYTHON" -m pytest -q -p no:cacheprovider test/python > "$py_log" 2>&1 &
py_pid=$!
trap 'kill "$py_pid" 2>/dev/null' EXIT

step "node tests"
node --import tsx --test --test-reporter=spec test/unit/*.test.ts test/integration/*.test.ts
node_status=$?

step "python tests"
wait "$py_pid"
py_status=$?
cat "$py_log"
rm -f "$py_log"

if [ "$node_status" -ne 0 ] || [ "$py_status" -ne 0 ]; then
  echo "tests failed: node exit $node_status, pytest exit $py_status"
  exit 1
fi
