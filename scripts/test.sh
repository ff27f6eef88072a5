#!/usr/bin/env bash
# The whole test suite: type-check, unit and integration tests (node:test), Python tests (pytest).
# Starts podman behind the Docker API first (as root, installing it when missing). The rest runs side
# by side: the node tests, those using the container engine (after the local build images), the
# browser's (after Chromium), the type check, and pytest (after XGBoost and the Python test
# environment); the others' output follows the node tests'.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

step() { printf '\n== %s\n' "$*"; }

# Background jobs (the node tests too, so that an interrupt reaches them all) are this script's to stop
# if it ends before they do; their logs and the tests' shared environments live in a directory of
# this run's own.
running=()
work="$(mktemp -d)"
cleanup() {
  local pid
  for pid in "${running[@]}"; do kill -- "-$pid" 2>/dev/null; done
  for pid in "${running[@]}"; do wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# Starts a command in the background, in a process group of its own: stopping it stops what it started.
background() {
  setsid "$@" &
  running+=("$!")
}
# Waits for a background job; its exit status is the job's.
finish() {
  local pid="$1" status other left=()
  wait "$pid"
  status=$?
  for other in "${running[@]}"; do [ "$other" = "$pid" ] || left+=("$other"); done
  running=("${left[@]}")
  return "$status"
}

step "container engine"
# As root, what the tests need is installed when missing. podman first: its packages and service are
# quick, and the other installs wait on apt's lock. Then each install goes in the background beside
# the tests that do not need it, in front of the tests that do: the build image (a Debian bootstrap,
# about a minute on a fresh machine) before the container engine's tests, XGBoost before pytest,
# Chromium before the browser's test.
as_root=false
if [ "$(id -u)" = 0 ]; then
  as_root=true
  bash scripts/ensure-podman.sh || exit 1
fi
# Runs the ensure-* scripts named (as root), then the command after --. With --nice, the scripts run at
# a lower priority: installs whose tests have time to spare leave the cores to the node tests, the
# longest stream. Exported, for the background jobs' shells (bash -c 'after_setup "$@"' - ...).
after_setup() {
  local script priority=()
  if [ "$1" = --nice ]; then
    priority=(nice -n 10)
    shift
  fi
  while [ "$1" != -- ]; do
    script="$1"
    shift
    if $as_root; then "${priority[@]}" bash "scripts/$script.sh" || exit 1; fi
  done
  shift
  exec "$@"
}
export -f after_setup
export as_root
export DOCKER_HOST="${DOCKER_HOST:-unix:///tmp/podman.sock}"
# OpenMP (HistGradientBoosting, LightGBM) spins waiting threads: with the node tests' processes on
# the same two cores, a tiny fit can take a minute. One thread per process keeps the suite steady.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

# The Python tests need no engine or network of their own, and the node tests do not need the Python
# test environment: building it and running pytest go beside the node tests. XGBoost is not a wheel
# on these machines: Debian's python3-xgboost produces the real models and pred_contribs that the
# XGBoost exporter is checked against.
py_log="$work/pytest.log"
export PIPE_TEST_PYTHON="$root/.venv-test/bin/python"
background bash -c 'echo "== python test environment"
  after_setup --nice ensure-xgboost -- bash -c "nice -n 10 bash scripts/ensure-python-env.sh && exec \"\$PIPE_TEST_PYTHON\" -m pytest -q -p no:cacheprovider test/python"' > "$py_log" 2>&1
py_pid=$!

step "build"
# npm ci has just built dist (prepare): it is built again when a source is newer than the build.
# (The build is incremental: tsc rewrites what changed, so its build info's time is set after it.)
built=dist/tsconfig.tsbuildinfo
if [ ! -f "$built" ] || [ ! -f dist/src/cli/run.js ] \
  || [ -n "$(find src tasks tsconfig.json package.json -newer "$built" -print -quit)" ]; then
  npx tsc -p tsconfig.json || exit 1
  touch "$built"
else
  echo "dist is up to date"
fi

# The type check of tests and benches, against the sources' declarations the build wrote (a project
# reference: the build has checked the sources themselves).
check_log="$work/type-check.log"
background node_modules/.bin/tsc -p tsconfig.check.json > "$check_log" 2>&1
check_pid=$!

# Environments that several tests need built, built once by the CLI (test/support/shared-env.ts).
export PIPE_TEST_ENV_CACHE="$work/envs"

step "node tests"
# Test files run side by side: most of their time is spent waiting on child processes, servers and
# containers, and each works in temporary directories and on ports of its own. Those that use the
# container engine run one after another, beside the others: a container's start, kill and removal
# slow down when the engine serves several tests at once, and some tests bound how long these take.
# Three files at a time on this project's two-core machines: the first wait on the shared
# environments' build, and many files spend their time waiting on servers; more only adds contention
# for the cores (PIPE_TEST_CONCURRENCY sets another number).
mapfile -t engine_tests < <(grep -l "support/build-engine\|support/broken-engine\|src/runners/docker-" test/integration/*.test.ts)
mapfile -t browser_tests < <(grep -l "chromium" test/integration/*.test.ts)
# The files that train real models (on the shared environments) are the longest: they start first, so
# that none of them is left running alone at the end.
mapfile -t model_tests < <(grep -l "sharedEnv: true" test/integration/*.test.ts)
other_tests=()
for file in "${model_tests[@]}" test/integration/*.test.ts test/unit/*.test.ts; do
  [[ " ${engine_tests[*]} ${browser_tests[*]} ${other_tests[*]} " == *" $file "* ]] || other_tests+=("$file")
done
engine_log="$work/engine-tests.log"
background bash -c 'after_setup "$@"' - ensure-build-image -- \
  node --import tsx --test --test-concurrency=1 --test-reporter=spec "${engine_tests[@]}" > "$engine_log" 2>&1
engine_pid=$!
browser_log="$work/browser-tests.log"
background bash -c 'after_setup "$@"' - --nice ensure-chromium -- \
  node --import tsx --test --test-concurrency=1 --test-reporter=spec "${browser_tests[@]}" > "$browser_log" 2>&1
browser_pid=$!
background node --import tsx --test --test-concurrency="${PIPE_TEST_CONCURRENCY:-3}" --test-reporter=spec "${other_tests[@]}"
finish "$!"
node_status=$?

step "node tests using the container engine"
finish "$engine_pid"
engine_status=$?
cat "$engine_log"

step "node tests in a browser"
finish "$browser_pid"
browser_status=$?
cat "$browser_log"

step "type check"
finish "$check_pid"
check_status=$?
cat "$check_log"

step "python tests"
finish "$py_pid"
py_status=$?
cat "$py_log"

if [ "$node_status" -ne 0 ] || [ "$engine_status" -ne 0 ] || [ "$browser_status" -ne 0 ] || [ "$check_status" -ne 0 ] \
  || [ "$py_status" -ne 0 ]; then
  echo "tests failed: node exit $node_status, node (container engine) exit $engine_status, node (browser) exit $browser_status," \
    "type check exit $check_status, pytest exit $py_status"
  exit 1
fi
