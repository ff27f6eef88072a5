"""pipe score's driver against the script a data scientist would write for the same output, in one run.

    .venv-test/bin/python bench/score_table.py [--rows 1000000] [--compare-rows 100000] [--workdir DIR]

Two models trained by python/build_model_artifacts.py as a user would: the example forest (the built-in
example's settings) and a 300-tree LightGBM (31 leaves) on the synthetic credit example. Each is run as the
function runs it: the handler's modules and artifacts/ in one directory, scored by
src/runtime/score_table.py with every core (``--jobs``), CSV out.

* Throughput: the example forest over ``--rows`` rows (default 1,000,000): the wall time, and the peak
  RSS of the driver and its workers together (sampled every 20 ms from /proc). Goals: under 60 s and
  under 400 MB.
* Against the script, on ``--compare-rows`` rows (default 100,000), for both models: pandas read_csv,
  the saved Pipeline (model.joblib) for the probability, shap.TreeExplainer on its encoded input for the
  SHAP values, the top 4 features toward the outcome as reasons, DataFrame.to_csv. The same columns as
  `pipe score` writes. Goal: pipe at least 5x faster. Both outputs' probabilities must agree (1e-9).

Exit status 1 when the outputs disagree, not for a missed goal (MISS).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from credit_data import FEATURES, synthetic_credit_data  # noqa: E402

DRIVER = ROOT / "src" / "runtime" / "score_table.py"

BASELINE = textwrap.dedent('''
    import sys, time
    import joblib, numpy as np, pandas as pd, shap
    started = time.perf_counter()
    data, model, out = sys.argv[1], sys.argv[2], sys.argv[3]
    features = sys.argv[4].split(",")
    frame = pd.read_csv(data)
    pipeline = joblib.load(model)
    x = frame[features]
    proba = pipeline.predict_proba(x)[:, 1]
    encoded = pipeline[:-1].transform(x)
    values = shap.TreeExplainer(pipeline[-1]).shap_values(encoded)
    values = np.asarray(values)
    if values.ndim == 3:  # (rows, features, classes) for a forest: the positive class's
        values = values[:, :, 1]
    elif isinstance(values, list):
        values = values[1]
    decision = np.where(proba >= 0.5, "decline", "approve")
    toward = np.where((proba >= 0.5)[:, None], values, -values)
    top = np.argsort(-toward, axis=1)[:, :4]
    result = pd.DataFrame({"probability_1": proba, "decision": decision})
    for i, name in enumerate(features):
        result["shap_" + name] = values[:, i]
    names = np.array(features)
    for k in range(4):
        result[f"reason_{k + 1}_feature"] = names[top[:, k]]
    result.to_csv(out, index=False)
    print(time.perf_counter() - started)
''')


def package(artifacts: Path, into: Path) -> Path:
    code = into / "code"
    shutil.copytree(ROOT / "handler", code, ignore=shutil.ignore_patterns("__pycache__", "requirements.txt"))
    shutil.copytree(artifacts, code / "artifacts")
    return code


def train(work: Path, name: str, *args: str) -> Path:
    out = work / name
    result = subprocess.run([sys.executable, str(ROOT / "python" / "build_model_artifacts.py"), "--out", str(out),
                             *args], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"training {name} failed:\n{result.stderr}")
    return out


def tree_rss(pid: int) -> int:
    """Bytes resident in `pid` and its descendants."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                total += next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
            with open(f"/proc/{p}/task/{p}/children") as f:
                stack += [int(c) for c in f.read().split()]
        except (OSError, StopIteration):
            continue
    return total


def drive(code: Path, data: Path, out: Path, jobs: int) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes, the process tree) of one scoring run."""
    peak = 0
    started = time.perf_counter()
    with open(data, "rb") as stdin, open(out, "wb") as stdout:
        child = subprocess.Popen([sys.executable, str(DRIVER), "score", "--code", str(code), "--jobs", str(jobs)],
                                 stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                                 env={**os.environ, "PIPE_AUDIT_LOG": "off"})
        done = threading.Event()
        errors: list[bytes] = []
        reader = threading.Thread(target=lambda: (errors.append(child.stderr.read()), done.set()))
        reader.start()
        while child.poll() is None:
            peak = max(peak, tree_rss(child.pid))
            time.sleep(0.02)
        reader.join()
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"the driver failed:\n{errors[0].decode()[-2000:]}")
    return seconds, peak


def baseline(artifacts: Path, data: Path, out: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", BASELINE, str(data), str(artifacts / "model.joblib"), str(out),
                             ",".join(FEATURES)], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"the baseline script failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - started


def table(rows: int, seed: int, path: Path) -> Path:
    frame = synthetic_credit_data(rows, seed)[list(FEATURES)]
    frame.insert(0, "id", np.arange(rows))
    frame.to_csv(path, index=False)
    return path


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--compare-rows", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="pipe-bench-score-"))
    work.mkdir(parents=True, exist_ok=True)
    jobs = os.cpu_count() or 1
    print(f"{jobs} cores; models trained by build_model_artifacts.py")
    forest = train(work, "forest")
    lightgbm = train(work, "lightgbm", "--estimator", "lightgbm", "--params",
                     json.dumps({"n_estimators": 300, "num_leaves": 31}))
    failed = False

    big = table(args.rows, 11, work / "big.csv")
    code = package(forest, work / "forest-code")
    seconds, peak = drive(code, big, work / "big-scored.csv", jobs)
    print(f"example forest, {args.rows:,} rows: {seconds:.1f} s ({args.rows / seconds:,.0f} rows/s), "
          f"peak RSS {peak / 2**20:.0f} MB  [{verdict(seconds < 60)} < 60 s, {verdict(peak < 400 * 2**20)} < 400 MB]")

    small = table(args.compare_rows, 12, work / "compare.csv")
    for name, artifacts in (("example forest", forest), ("LightGBM 300 trees", lightgbm)):
        code = package(artifacts, work / f"{artifacts.name}-code-compare")
        ours, _ = drive(code, small, work / f"{artifacts.name}-ours.csv", jobs)
        theirs = baseline(artifacts, small, work / f"{artifacts.name}-theirs.csv")
        mine = pd.read_csv(work / f"{artifacts.name}-ours.csv", usecols=["probability_1"])["probability_1"].to_numpy()
        script = pd.read_csv(work / f"{artifacts.name}-theirs.csv", usecols=["probability_1"])["probability_1"].to_numpy()
        agree = mine.shape == script.shape and float(np.max(np.abs(mine - script))) < 1e-9
        failed |= not agree
        ratio = theirs / ours
        print(f"{name}, {args.compare_rows:,} rows: pipe score {ours:.2f} s, pandas + joblib + shap script "
              f"{theirs:.2f} s: {ratio:.1f}x  [{verdict(ratio >= 5)} >= 5x]"
              f"{'' if agree else '  OUTPUTS DISAGREE'}")
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
