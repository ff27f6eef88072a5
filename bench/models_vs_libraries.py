"""The function against the libraries' own SHAP code, for larger boosted models, measured in one run.

    OMP_NUM_THREADS=1 .venv-test/bin/python bench/models_vs_libraries.py [--workdir DIR] [--runs N]
        [--models lightgbm,hist_gradient_boosting,lightgbm_wide] [--budget SECONDS]

Models (trained with python/build_model_artifacts.py, as a user would):

* ``lightgbm``: LightGBM classifier, 300 trees of 31 leaves, on the synthetic credit example (10 features);
* ``hist_gradient_boosting``: HistGradientBoostingClassifier, 100 iterations, same data;
* ``lightgbm_wide``: LightGBM, 300 trees of 31 leaves, on a synthetic 100-feature table (5000 rows,
  a dozen informative columns, five with ~10% missing values).

Per model:

* the function (handler/app.py, a Function-URL event, its own process) against a shap-based handler
  as a team writes it (the records as a pandas DataFrame, the joblib Pipeline's encoder,
  shap.TreeExplainer on its model step, json.dumps; no reasons, no checks beyond pandas'): cold init
  (import + load) in fresh processes, warm latency for 1 and 100 records. The speed goals are
  against this handler. Also, for information, against shap with the function's own parsing,
  validation and rendering (reasons included), where only the explainer differs. Rounds alternate
  between the handlers so drifting machine load hits them alike; medians throughout;
* for LightGBM models, pure compute: our ``explainer.explain`` against LightGBM's C++
  ``booster.predict(X, pred_contrib=True)`` on the same encoded rows, calls interleaved in each of
  as many fresh processes as the rounds above (medians), both single-threaded; the handler's own overhead (parsing, validation, link, JSON) is
  reported separately;
* the explainer's split between tabulated and quadrature leaves, the function's init time and
  peak RSS (a 512 MB Lambda must hold it), and what it imports besides the standard library.

Only ratios measured in this run are compared (machines are noisy). Exit status 1 when outputs
disagree (SHAP, base value or prediction more than 1e-6 from the oracle), not for a missed speed
goal: those print MISS.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
HANDLER = ROOT / "handler"
sys.path.insert(0, str(BENCH))
from handler_vs_shap import (CONVENTIONAL_HANDLER, SHAP_HANDLER, compile_installed_packages, max_difference,  # noqa: E402
                             python_env)

TOLERANCE = 1e-6
RSS_LIMIT_MB = 512
INIT_LIMIT_S = 0.300
WIDE_FEATURES, WIDE_ROWS = 100, 5000

MODELS = {
    "lightgbm": {"title": "LightGBM classifier, 300 trees x 31 leaves, credit example (10 features)",
                 "estimator": "lightgbm", "params": {"n_estimators": 300, "num_leaves": 31}, "data": "credit",
                 "library_goal": 3.0, "handler_goals": True},
    "hist_gradient_boosting": {"title": "HistGradientBoostingClassifier, 100 iterations, credit example",
                               "estimator": "hist_gradient_boosting", "params": {"max_iter": 100},
                               "data": "credit", "library_goal": None, "handler_goals": True},
    "lightgbm_wide": {"title": f"LightGBM classifier, 300 trees x 31 leaves, {WIDE_FEATURES} features "
                               f"({WIDE_ROWS} rows, some missing)",
                      "estimator": "lightgbm", "params": {"n_estimators": 300, "num_leaves": 31}, "data": "wide",
                      "library_goal": 1 / 3, "handler_goals": False},
}
HANDLER_GOALS = {"init": 4.0, "1": 10.0, "100": 10.0}

# One function process: cold init (import + artifact load), then warm latency per batch size; for
# ours also the explainer's share of each call (timed alternately with the handler call).
FUNCTION_WORKER = textwrap.dedent('''
    import json, resource, statistics, sys, time
    before = set(sys.modules)
    t, cpu = time.perf_counter(), time.process_time()
    import {module} as target
    init, init_cpu = time.perf_counter() - t, time.process_time() - cpu
    rss_init = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    local = set(json.loads(sys.argv[3]))
    imported = sorted({{m.split(".")[0] for m in set(sys.modules) - before}} - set(sys.stdlib_module_names) - local)
    records, budget = json.load(open(sys.argv[1])), float(sys.argv[2])
    model = getattr(target, "MODEL", None)
    explainer = getattr(model, "explainer", None) if hasattr(model, "validator") else None
    results = {{"init": init, "init_cpu": init_cpu, "rss_init_kb": rss_init, "imported": imported}}
    if explainer is not None:
        results["tabulated_leaves"] = explainer.tabulated_leaves
        results["quadrature_leaves"] = explainer.quadrature_leaves
        tables = getattr(explainer, "_tables", None)
        results["table_entries"] = getattr(tables, "entries", 0) if tables is not None else 0
        results["table_layout"] = getattr(tables, "layout", "slots") if tables is not None else "none"
    for n in (1, 100):
        event = {{"rawPath": "/predict", "requestContext": {{"http": {{"method": "POST"}}}},
                  "body": json.dumps(records[:n])}}
        response = target.handler(event, None)
        assert response["statusCode"] == 200, response["body"][:300]
        results["out%d" % n] = json.loads(response["body"])["predictions"]
        x = model.validator.to_batch(records[:n]).x if explainer is not None else None
        for _ in range(3):
            target.handler(event, None)
        calls, explains = [], []
        start = time.perf_counter()
        while len(calls) < 5 or (time.perf_counter() - start < budget and len(calls) < 3000):
            t = time.perf_counter()
            target.handler(event, None)
            calls.append(time.perf_counter() - t)
            if x is not None:
                t = time.perf_counter()
                explainer.explain(x)
                explains.append(time.perf_counter() - t)
        results[str(n)] = statistics.median(calls)
        if explains:
            results["explain%d" % n] = statistics.median(explains)
    results["rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(results))
''')

# Pure compute on the same encoded rows: our explainer against LightGBM's C++ pred_contrib, calls
# interleaved, both single-threaded.
COMPUTE_WORKER = textwrap.dedent('''
    import json, statistics, sys, time
    import joblib
    import numpy as np
    import app  # the function's process as it runs: its model (PIPE_ARTIFACTS_DIR) and memory settings

    artifacts, records, budget = sys.argv[1], json.load(open(sys.argv[2])), float(sys.argv[3])
    model = app.MODEL
    booster = joblib.load(artifacts + "/model.joblib").named_steps["model"].booster_
    contrib = lambda x: booster.predict(x, pred_contrib=True, num_threads=1)
    results = {}
    for n in (1, 100):
        x = model.validator.to_batch(records[:n]).x
        ours, theirs = model.explainer.explain(x), contrib(x)
        results["diff%d" % n] = max(float(np.max(np.abs(ours.shap[:, 0, :] - theirs[:, :-1]))),
                                    float(np.max(np.abs(ours.base_value[0] - theirs[:, -1]))),
                                    float(np.max(np.abs(ours.margin[:, 0] - theirs.sum(axis=1)))))
        for _ in range(3):
            model.explainer.explain(x), contrib(x)
        mine, lib = [], []
        start = time.perf_counter()
        while len(mine) < 7 or (time.perf_counter() - start < budget and len(mine) < 3000):
            t = time.perf_counter()
            model.explainer.explain(x)
            mine.append(time.perf_counter() - t)
            t = time.perf_counter()
            contrib(x)
            lib.append(time.perf_counter() - t)
        results["ours%d" % n], results["lib%d" % n] = statistics.median(mine), statistics.median(lib)
    print(json.dumps(results))
''')


def wide_table(rows: int, seed: int) -> np.ndarray:
    """(rows, 1 + WIDE_FEATURES): a 0/1 label, then features; ten carry signal (one pair interacts),
    ten are small integers, five have ~10% missing values (NaN)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, WIDE_FEATURES))
    x[:, 10:20] = np.round(x[:, 10:20] * 3)
    logit = (x[:, :8] @ np.array([1.2, -0.9, 0.7, 0.5, -0.5, 0.4, 0.3, -0.3]) + 0.6 * x[:, 8] * x[:, 9]
             + 0.2 * x[:, 10] - 1.0)
    y = (rng.random(rows) < 1.0 / (1.0 + np.exp(-logit))).astype(float)
    for column in (3, 25, 50, 75, 99):
        x[rng.random(rows) < 0.1, column] = np.nan
    return np.column_stack([y, x])


def wide_names() -> list[str]:
    return [f"f{i:03d}" for i in range(WIDE_FEATURES)]


def write_wide_csv(path: Path) -> None:
    table = wide_table(WIDE_ROWS, 7)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["label", *wide_names()])
        for row in table.tolist():
            writer.writerow([int(row[0]), *("" if v != v else repr(v) for v in row[1:])])


def request_records(data: str) -> list[dict]:
    """100 records the model has not seen, as a client sends them (null for missing)."""
    if data == "credit":
        sys.path.insert(0, str(ROOT / "python"))
        from credit_data import FEATURES, synthetic_credit_data

        frame = synthetic_credit_data(100, 12345)[FEATURES]
        return [{k: (None if v != v else v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
    names = wide_names()
    return [{name: (None if v != v else v) for name, v in zip(names, row[1:])}
            for row in wide_table(100, 12345).tolist()]


def build_command(key: str, out: Path, workdir: Path) -> list[str]:
    spec = MODELS[key]
    command = [sys.executable, str(ROOT / "python" / "build_model_artifacts.py"), "--out", str(out),
               "--estimator", spec["estimator"], "--params", json.dumps(spec["params"])]
    if spec["data"] == "wide":
        command += ["--data", str(workdir / "wide.csv"), "--target", "label"]
    return command


def build_all(keys: list[str], workdir: Path) -> dict[str, Path]:
    """Trains the models (in parallel, one thread each); reuses artifacts built earlier with the same command."""
    if any(MODELS[k]["data"] == "wide" for k in keys) and not (workdir / "wide.csv").exists():
        write_wide_csv(workdir / "wide.csv")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    running, outs = [], {}
    for key in keys:
        out = workdir / key
        command = build_command(key, out, workdir)
        stamp = out / "bench-command.json"
        outs[key] = out
        if stamp.exists() and json.loads(stamp.read_text()) == command[1:] and (out / "model.joblib").exists():
            continue
        log = (workdir / f"{key}.log").open("w")
        running.append((key, command, stamp, log, subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                                                   stderr=subprocess.STDOUT)))
    started = time.perf_counter()
    for key, command, stamp, log, process in running:
        if process.wait(timeout=900) != 0:
            log.close()
            sys.exit(f"training {key} failed:\n{(workdir / f'{key}.log').read_text()[-3000:]}")
        log.close()
        stamp.write_text(json.dumps(command[1:]))
    if running:
        print(f"trained {', '.join(k for k, *_ in running)} in {time.perf_counter() - started:.0f} s", flush=True)
    return outs


def compiled_copy(handler: Path, workdir: Path) -> Path:
    """The function's modules with their bytecode, as the package ships them (unchecked-hash pycs):
    a checkout's stale or missing pycs would add compile time to every cold start measured."""
    import compileall
    import py_compile
    import shutil

    target = workdir / "function"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(handler, target, ignore=shutil.ignore_patterns("__pycache__"))
    compileall.compile_dir(target, quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    return target


def run_python(code: str, env: dict, *args: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True,
                            timeout=600)
    if result.returncode != 0:
        sys.exit(f"benchmark subprocess failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(key: str, artifacts: Path, workdir: Path, runs: int, budget: float, handler: Path) -> dict:
    records = request_records(MODELS[key]["data"])
    records_file = workdir / f"{key}-records.json"
    records_file.write_text(json.dumps(records))
    app_dir = workdir / f"{key}-shap"
    app_dir.mkdir(exist_ok=True)
    (app_dir / "shap_app.py").write_text(SHAP_HANDLER)
    (app_dir / "conventional_app.py").write_text(CONVENTIONAL_HANDLER)
    ours_env = python_env([handler], artifacts)
    shap_env = python_env([app_dir, handler], artifacts)
    local = json.dumps(sorted({p.stem for p in handler.glob("*.py")} | {"shap_app", "conventional_app"}))
    worker = lambda module, env: run_python(FUNCTION_WORKER.format(module=module), env, str(records_file),  # noqa: E731
                                            str(budget), local)
    ours, theirs, hybrid = [], [], []
    for _ in range(runs):  # alternating fresh processes: each gives a cold init and a warm round
        ours.append(worker("app", ours_env))
        theirs.append(worker("conventional_app", python_env([app_dir], artifacts)))
        hybrid.append(worker("shap_app", shap_env))
    median = lambda rounds, field: statistics.median(r[field] for r in rounds)  # noqa: E731
    result = {
        "ours": {field: median(ours, field) for field in ("init", "init_cpu", "1", "100", "explain1", "explain100")},
        "shap": {field: median(theirs, field) for field in ("init", "init_cpu", "1", "100")},
        "hybrid": {field: median(hybrid, field) for field in ("init", "init_cpu", "1", "100")},
        "rss_init_mb": max(r["rss_init_kb"] for r in ours) / 1024, "rss_mb": max(r["rss_kb"] for r in ours) / 1024,
        "imported": sorted({m for r in ours for m in r["imported"]}),
        "explainer": {k: ours[0][k] for k in ("tabulated_leaves", "quadrature_leaves", "table_entries",
                                              "table_layout")},
        "handler_diff": max(max_difference(o["out1"], t["out1"]) for o, t in zip(ours, theirs))
        if runs else 0.0,
        "model_json_kb": (artifacts / "model.json").stat().st_size / 1024,
    }
    result["handler_diff"] = max(result["handler_diff"], max_difference(ours[0]["out100"], theirs[0]["out100"]),
                                 max_difference(ours[0]["out100"], hybrid[0]["out100"]))
    if MODELS[key]["estimator"] == "lightgbm":
        # As many processes as the other rows: a burst of the shared machine's noise lands in one of
        # them, not in the result.
        env = python_env([handler], artifacts)
        rounds = [run_python(COMPUTE_WORKER, env, str(artifacts), str(records_file), str(budget * 2))
                  for _ in range(max(runs, 1))]
        result["compute"] = {field: (max if field.startswith("diff") else statistics.median)(r[field] for r in rounds)
                             for field in rounds[0]}
    return result


def static_imports() -> set[str]:
    """Top-level modules handler/*.py import that are neither standard library nor handler modules."""
    import ast

    local = {p.stem for p in HANDLER.glob("*.py")}
    found = set()
    for path in HANDLER.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    # _sha2: the standard library's SHA-256 module from Python 3.12 on (_sha256 before).
    return found - set(sys.stdlib_module_names) - local - {"__future__", "_sha2"}


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms" if seconds < 0.01 else f"{seconds * 1e3:.0f} ms"


def report(key: str, r: dict) -> bool:
    """Prints one model's section; returns whether the outputs agree."""
    spec, ours, shap = MODELS[key], r["ours"], r["shap"]
    e = r["explainer"]
    print(f"\n== {spec['title']}")
    print(f"explainer: {e['tabulated_leaves']} leaves tabulated ({e['table_entries']:,} table entries in "
          f"{e['table_layout']}, {e['table_entries'] * 8 / 1e6:.1f} MB), {e['quadrature_leaves']} by quadrature; "
          f"model.json {r['model_json_kb']:.0f} kB")
    print(f"function process: init {ms(ours['init'])} wall, {ms(ours['init_cpu'])} CPU (medians of fresh processes; "
          f"shap handler {ms(shap['init_cpu'])} CPU), peak RSS {r['rss_init_mb']:.0f} MB after init, "
          f"{r['rss_mb']:.0f} MB after 1- and 100-record requests")
    agree = r["handler_diff"] <= TOLERANCE
    line = f"outputs: vs shap handler max |diff| {r['handler_diff']:.1e}"
    compute = r.get("compute")
    if compute:
        diff = max(compute["diff1"], compute["diff100"])
        agree &= diff <= TOLERANCE
        line += f"; explain vs LightGBM pred_contrib max |diff| {diff:.1e} (SHAP, base value, margin)"
    print(line + f"  [{'agree' if agree else 'DISAGREE'} within {TOLERANCE:g}]")
    print(f"{'measure':<40}{'ours':>11}{'theirs':>11}{'ratio':>9}{'goal':>9}  result")

    def row(label: str, mine: float, theirs: float | None, goal: float | None, ok: bool | None = None,
            goal_text: str | None = None) -> None:
        ratio = theirs / mine if theirs is not None else None
        if ok is None and goal is not None and ratio is not None:
            ok = ratio >= goal
        goal_text = goal_text or ("-" if goal is None else (f">={goal:g}x" if goal >= 1 else f">=1/{1 / goal:g}"))
        result = "info" if ok is None else ("PASS" if ok else "MISS")
        print(f"{label:<40}{ms(mine):>11}{(ms(theirs) if theirs is not None else ''):>11}"
              f"{(f'{ratio:.2f}x' if ratio is not None else ''):>9}{goal_text:>9}  {result}")

    handler_goal = (lambda k: HANDLER_GOALS[k]) if spec["handler_goals"] else (lambda k: None)
    row("cold init vs shap handler", ours["init"], shap["init"], handler_goal("init"))
    row("1 record vs shap handler", ours["1"], shap["1"], handler_goal("1"))
    row("100 records vs shap handler", ours["100"], shap["100"], handler_goal("100"))
    hybrid = r["hybrid"]
    row("  shap with our parsing: init", ours["init"], hybrid["init"], None)
    row("  shap with our parsing: 1 record", ours["1"], hybrid["1"], None)
    row("  shap with our parsing: 100 records", ours["100"], hybrid["100"], None)
    if compute:
        goal = spec["library_goal"]
        row("1 record: explain vs LightGBM C++", compute["ours1"], compute["lib1"], goal)
        row("100 records: explain vs LightGBM C++", compute["ours100"], compute["lib100"], goal)
    row("cold init of the function (wall)", ours["init"], None, None, ours["init"] < INIT_LIMIT_S,
        f"<{INIT_LIMIT_S * 1e3:.0f} ms")
    # On a shared machine the wall time includes waiting for a CPU; a Lambda's vCPU is its own.
    row("cold init of the function (CPU time)", ours["init_cpu"], None, None, ours["init_cpu"] < INIT_LIMIT_S,
        f"<{INIT_LIMIT_S * 1e3:.0f} ms")
    print(f"{'peak RSS of the function process':<40}{r['rss_mb']:>8.0f} MB{'':>20}{f'<{RSS_LIMIT_MB} MB':>9}  "
          f"{'PASS' if r['rss_mb'] < RSS_LIMIT_MB else 'MISS'}")
    numpy_only = r["imported"] == ["numpy"] and static_imports() <= {"numpy"}
    print(f"{'dependencies (imported, non-stdlib)':<40}{', '.join(r['imported']):>11}{'':>20}{'numpy':>9}  "
          f"{'PASS' if numpy_only else 'MISS'}")
    for n in ("1", "100"):
        overhead = ours[n] - ours[f"explain{n}"]
        print(f"  handler {n:>3} record{'s' if n != '1' else ' '}: {ms(ours[n])} = explain {ms(ours[f'explain{n}'])}"
              f" + {ms(overhead)} parsing, validation, link and JSON ({overhead / ours[n]:.0%})")
    return agree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, help="keep data and artifacts here and reuse them (default: temp)")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per handler and model (default 5)")
    parser.add_argument("--budget", type=float, default=0.4, help="seconds per timing loop (default 0.4)")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated subset of {', '.join(MODELS)}")
    parser.add_argument("--handler", type=Path, default=HANDLER, help="the function's code (default: handler/), "
                                                                       "e.g. an older copy to compare with")
    args = parser.parse_args()
    keys = [k for k in args.models.split(",") if k]
    unknown = [k for k in keys if k not in MODELS]
    if unknown or not keys or args.runs < 1:
        parser.error(f"--models takes some of {', '.join(MODELS)}; --runs at least 1")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        artifacts = build_all(keys, workdir)
        compile_installed_packages()
        function = compiled_copy(args.handler.resolve(), workdir)
        results = {key: measure(key, artifacts[key], workdir, args.runs, args.budget, function) for key in keys}
    print(f"ours: handler/app.py with numpy only; theirs: a shap handler (pandas DataFrame, the joblib Pipeline, "
          f"shap.TreeExplainer, json.dumps), shap with our parsing, validation and JSON (info rows), and "
          f"LightGBM's booster.predict(pred_contrib=True). OMP_NUM_THREADS=1; medians of {args.runs} "
          f"alternating fresh processes per handler; ratio = theirs / ours.")
    agree = all([report(key, results[key]) for key in keys])
    print(f"\n{'outputs agree' if agree else 'OUTPUTS DISAGREE'}; benchmark took {time.perf_counter() - started:.0f} s")
    sys.exit(0 if agree else 1)


if __name__ == "__main__":
    main()
