"""SHAP values against a reference population: the function against shap's own interventional explainer,
measured in one run.

    OMP_NUM_THREADS=1 .venv-test/bin/python bench/reference_vs_shap.py [--workdir DIR] [--sizes 100,1000]
        [--budget SECONDS] [--runs N]

The model: LightGBM, 300 trees of 31 leaves, on the synthetic credit example (10 features), trained with
python/build_model_artifacts.py as a user would, once path-dependent and then with
``model.reference = {from: 'training', size: R}`` for each R, in log-odds and in probability
(``model.shapOutput = 'probability'``).

Per R and space, on the same encoded rows, calls interleaved, single-threaded, medians:

* ours: the function's explainer (``explain``), for 1 and 100 records;
* shap: ``shap.TreeExplainer(model, data=R, feature_perturbation="interventional")`` with
  ``model_output="raw"`` or ``"probability"`` (shap needs the numeric-coded input; this table is numeric);
* for log-odds, also ours path-dependent (the goal: within 2x of it).

And per R, in fresh processes (the median of ``--runs``): the function's cold init (``import app``:
numpy, the load, the tables) from the handler as the package ships it (with its bytecode: Lambda's
code directory is read-only, so a checkout without pycs would measure compiling too), its peak RSS,
and the function zip's size (the handler with its bytecode and the artifacts, deflated). Goals (the
issue's): log-odds at least 30x faster than shap and within 2x of path-dependent, probability at least
5x faster than shap; cold init under 300 ms and the zip under 10 MB with 1,000 rows. Exit status 1
when outputs disagree with shap's (more than 1e-6), not for a missed goal (MISS).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
HANDLER = ROOT / "handler"
sys.path.insert(0, str(BENCH))
from handler_vs_shap import compile_installed_packages  # noqa: E402
from models_vs_libraries import compiled_copy  # noqa: E402

TOLERANCE = 1e-6
GOALS = {"log_odds": 30.0, "probability": 5.0}
PATH_DEPENDENT_WITHIN = 2.0
INIT_LIMIT_S, ZIP_LIMIT = 0.300, 10 * 1024 * 1024
PARAMS = {"n_estimators": 300, "num_leaves": 31}

INIT_WORKER = textwrap.dedent('''
    import json, resource, sys, time
    t = time.perf_counter()
    import app
    init = time.perf_counter() - t
    assert app.MODEL is not None, app.LOAD_ERROR
    print(json.dumps({"init": init, "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "reference_rows": app.MODEL.explainer.reference_rows}))
''')


def build(out: Path, spec: dict) -> None:
    command = [sys.executable, str(ROOT / "python" / "build_model_artifacts.py"), "--out", str(out),
               "--estimator", "lightgbm", "--params", json.dumps(PARAMS), "--spec", json.dumps(spec)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"building {out.name} failed:\n{done.stderr}")


def function_zip_bytes(function: Path, artifacts: Path) -> int:
    """The function zip as the package task makes it: the handler's files, their bytecode and the
    deployed artifacts."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(function.rglob("*")):
            if path.suffix in (".py", ".html", ".pyc"):
                archive.write(path, path.relative_to(function).as_posix())
        for name in ("model.json", "model_card.json"):
            archive.write(artifacts / name, f"artifacts/{name}")
    return len(buffer.getvalue())


def cold_init(function: Path, artifacts: Path, runs: int) -> dict:
    env = {**os.environ, "PIPE_ARTIFACTS_DIR": str(artifacts), "PYTHONPATH": str(function), "PIPE_AUDIT_LOG": "off"}
    samples = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", INIT_WORKER], env=env, capture_output=True, text=True, cwd=function)
        if done.returncode:
            sys.exit(f"the function did not start:\n{done.stderr}")
        samples.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {"init": statistics.median(s["init"] for s in samples), "rss_mb": max(s["rss_kb"] for s in samples) / 1024}


# One function process per model: the function's own start-up (app, its memory settings), then ours, shap's
# interventional explainer and ours path-dependent on the same encoded rows, in alternating blocks of
# consecutive calls (interleaving single calls would time each with the other's data in the caches).
COMPARE_WORKER = textwrap.dedent('''
    import base64, json, statistics, sys, time
    import app, joblib, numpy as np, shap
    from model_store import LoadedModel

    artifacts, plain_dir, space, budget = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    records = json.load(open(sys.argv[5]))
    ours, plain = app.MODEL, LoadedModel(plain_dir)
    ref = json.loads(open(artifacts + "/model.json").read())["reference"]
    rows = np.frombuffer(base64.b64decode(ref["rows"]), dtype="<f8").reshape(ref["n_rows"], -1)
    model = joblib.load(artifacts + "/model.joblib").named_steps["model"]
    # Every row: given the rows as data, shap silently keeps a sample of 100.
    theirs = shap.TreeExplainer(model, data=shap.maskers.Independent(rows, max_samples=len(rows)),
                                feature_perturbation="interventional",
                                model_output="raw" if space == "log_odds" else "probability")
    results, BLOCK = {}, 10
    for n in (1, 100):
        x = ours.validator.to_batch(records[:n]).x
        got = ours.explainer.explain(x).shap[:, 0, :]
        want = np.asarray(theirs.shap_values(x, check_additivity=False)).reshape(n, -1)
        results["diff%d" % n] = float(np.max(np.abs(got - want)))
        calls = {"ours": lambda: ours.explainer.explain(x),
                 "shap": lambda: theirs.shap_values(x, check_additivity=False)}
        if space == "log_odds":
            calls["path"] = lambda: plain.explainer.explain(x)
        samples = {name: [] for name in calls}
        start = time.perf_counter()
        while min(map(len, samples.values())) < 10 or (time.perf_counter() - start < budget
                                                        and min(map(len, samples.values())) < 2000):
            for name, call in calls.items():
                for _ in range(BLOCK):
                    t = time.perf_counter()
                    call()
                    samples[name].append(time.perf_counter() - t)
        for name, values in samples.items():
            results["%s%d" % (name, n)] = statistics.median(values)
    print(json.dumps(results))
''')


def compare(artifacts: Path, plain: Path, space: str, budget: float, records_file: Path) -> dict:
    env = {**os.environ, "PIPE_ARTIFACTS_DIR": str(artifacts), "PIPE_AUDIT_LOG": "off",
           "PYTHONPATH": os.pathsep.join([str(HANDLER), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", COMPARE_WORKER, str(artifacts), str(plain), space, str(budget),
                           str(records_file)], env=env, capture_output=True, text=True, cwd=HANDLER)
    if done.returncode:
        sys.exit(f"the comparison of {artifacts.name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def records() -> list[dict]:
    sys.path.insert(0, str(ROOT / "python"))
    from credit_data import FEATURES, synthetic_credit_data

    frame = synthetic_credit_data(100, 12345)[FEATURES]
    return [{k: (None if v != v else v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--budget", type=float, default=4.0, help="seconds per timed comparison")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per cold-init measurement")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="pipe-reference-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"LightGBM classifier, {PARAMS['n_estimators']} trees x {PARAMS['num_leaves']} leaves, credit example "
          f"(10 features); artifacts in {work}", flush=True)
    build(work / "path-dependent", {})
    compile_installed_packages()
    function = compiled_copy(HANDLER, work)
    records_file = work / "records.json"
    records_file.write_text(json.dumps(records()))
    failed = False
    for size in sizes:
        for space in ("log_odds", "probability"):
            out = work / f"reference-{size}-{space}"
            build(out, {"reference": {"from": "training", "size": size}, "shapOutput": space})
            result = compare(out, work / "path-dependent", space, args.budget, records_file)
            for n in (1, 100):
                ours, theirs = result[f"ours{n}"], result[f"shap{n}"]
                diff = result[f"diff{n}"]
                vs_shap, goal = theirs / ours, GOALS[space]
                line = (f"  R={size:<5} {space:<11} {n:>3} record(s): ours {ours * 1e3:8.2f} ms, "
                        f"shap {theirs * 1e3:8.1f} ms: {vs_shap:6.1f}x (goal {goal:g}x "
                        f"{'PASS' if vs_shap >= goal else 'MISS'})")
                if f"path{n}" in result:
                    ratio = ours / result[f"path{n}"]
                    line += (f"; {ratio:.2f}x path-dependent's time (goal within {PATH_DEPENDENT_WITHIN:g}x "
                             f"{'PASS' if ratio <= PATH_DEPENDENT_WITHIN else 'MISS'})")
                print(line + f"; max |diff| {diff:.1e}", flush=True)
                if not diff <= TOLERANCE:
                    print(f"    OUTPUTS DISAGREE: {diff:.3g} > {TOLERANCE:g}")
                    failed = True
            cold = cold_init(function, out, args.runs)
            zipped = function_zip_bytes(function, out)
            print(f"  R={size:<5} {space:<11} cold init {cold['init'] * 1e3:.0f} ms (goal <{INIT_LIMIT_S * 1e3:.0f} "
                  f"{'PASS' if cold['init'] < INIT_LIMIT_S else 'MISS'}), peak RSS {cold['rss_mb']:.0f} MB, "
                  f"function zip {zipped / 1e6:.2f} MB (goal <10 MB {'PASS' if zipped < ZIP_LIMIT else 'MISS'}), "
                  f"model.json {(out / 'model.json').stat().st_size / 1e6:.2f} MB", flush=True)
    base = cold_init(function, work / "path-dependent", args.runs)
    print(f"  path-dependent: cold init {base['init'] * 1e3:.0f} ms, peak RSS {base['rss_mb']:.0f} MB, function zip "
          f"{function_zip_bytes(function, work / 'path-dependent') / 1e6:.2f} MB")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
