"""What one request's explanation costs in instructions and cache misses, counted by cachegrind: numbers
that do not move with the machine's load, for comparing two versions of the explainer where timings
of a shared machine wander by a third between runs.

    .venv-test/bin/python bench/explain_instructions.py ARTIFACTS_DIR [ARTIFACTS_DIR ...]
        [--handler DIR] [--records 1] [--calls 20]

Each artifacts directory (e.g. those bench/reference_vs_shap.py builds under its --workdir) is loaded
by the function's own code from --handler (default handler/), in two valgrind runs: one that only
loads it, one that also explains the same records --calls times. The difference, per call, is what a
request's explain costs: instructions (Ir), first-level data cache misses (D1) and last-level ones
(LL), with cachegrind's model of this machine's caches. Run it for two handler directories (a copy of
each version) to compare them.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORKER = textwrap.dedent('''
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from model_store import LoadedModel
    sys.path.insert(0, sys.argv[5])
    from credit_data import FEATURES, synthetic_credit_data
    model = LoadedModel(sys.argv[2])
    n, calls = int(sys.argv[3]), int(sys.argv[4])
    frame = synthetic_credit_data(max(n, 1), 12345)[FEATURES]
    records = [{k: (None if v != v else v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
    x = model.validator.to_batch(records[:n]).x
    for _ in range(calls):
        model.explainer.explain(x)
''')

COUNTS = {"Ir": r"I\s+refs:\s+([\d,]+)", "D1": r"D1\s+misses:\s+([\d,]+)", "LL": r"LLd misses:\s+([\d,]+)"}


def counts(handler: Path, artifacts: Path, records: int, calls: int) -> dict[str, int]:
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=yes", "--cachegrind-out-file=/dev/null",
               sys.executable, "-c", WORKER, str(handler), str(artifacts), str(records), str(calls), str(ROOT / "python")]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode:
        sys.exit(f"valgrind failed on {artifacts}:\n{done.stderr[-2000:]}")
    found = {name: re.search(pattern, done.stderr) for name, pattern in COUNTS.items()}
    if not all(found.values()):
        sys.exit(f"no cachegrind summary for {artifacts}:\n{done.stderr[-2000:]}")
    return {name: int(match.group(1).replace(",", "")) for name, match in found.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("artifacts", nargs="+", type=Path)
    parser.add_argument("--handler", type=Path, default=ROOT / "handler")
    parser.add_argument("--records", type=int, default=1)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    print(f"explain of {args.records} record(s), {args.calls} calls, handler {args.handler}; per call:")
    for artifacts in args.artifacts:
        base = counts(args.handler, artifacts, args.records, 0)
        total = counts(args.handler, artifacts, args.records, args.calls)
        per = {name: (total[name] - base[name]) / args.calls for name in COUNTS}
        print(f"  {artifacts.name:<28} {per['Ir'] / 1e6:7.2f} M instructions, {per['D1'] / 1e3:7.1f} k D1 misses, "
              f"{per['LL'] / 1e3:6.1f} k LL misses", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
