"""Trains the credit-risk model and writes its artifacts, proving the runtime explainer exact.

    python python/build_model_artifacts.py --out DIR [--data CSV --target COLUMN] [--seed N]
                                           [--params JSON] [--check-rows N] [--rows N]

Deployed (plain data, no pickle): model.json, model_card.json.
Kept locally: metrics.json, shap_importance.png, model.joblib.
Exit codes: 0 success, 2 bad input (data, arguments), 1 the build-time proof failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from credit_data import FEATURES, TARGET, DataError, frame_sha256, load_credit_csv, synthetic_credit_data
from model_export import canonical_json, model_document

HANDLER_DIR = Path(__file__).resolve().parent.parent / "handler"
DEFAULT_PARAMS = {"n_estimators": 50, "max_depth": 6, "max_leaf_nodes": 30}
SYNTHETIC_ROWS = 20_000
DECISION_THRESHOLD = 0.5
LIMITS = {"max_records": 1000, "max_body_bytes": 1_048_576}
SHAP_TOLERANCE = 1e-6
PROBABILITY_TOLERANCE = 1e-9
_started = time.perf_counter()


class UsageError(Exception):
    """Bad command-line arguments (exit code 2)."""


class ProofError(Exception):
    """The runtime explainer disagrees with scikit-learn or shap (exit code 1)."""


def progress(message: str) -> None:
    print(f"[{time.perf_counter() - _started:5.1f}s] {message}", flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="directory to write the artifacts into")
    parser.add_argument("--data", type=Path, help="training CSV with the credit schema (default: synthetic)")
    parser.add_argument("--target", default=TARGET, help=f"target column of --data (default {TARGET})")
    parser.add_argument("--seed", type=int, default=0, help="seed for data generation, split and forest")
    parser.add_argument("--params", default="{}", help="JSON object of RandomForestClassifier hyperparameters")
    parser.add_argument("--rows", type=int, default=SYNTHETIC_ROWS, help="synthetic rows when no --data")
    parser.add_argument("--check-rows", type=int, default=200, help="rows in the SHAP proof (>= 200)")
    args = parser.parse_args(argv)
    try:
        params = json.loads(args.params)
    except json.JSONDecodeError as err:
        raise UsageError(f"--params is not valid JSON: {err}") from err
    if not isinstance(params, dict):
        raise UsageError("--params must be a JSON object, e.g. '{\"n_estimators\": 100}'")
    args.params = {**DEFAULT_PARAMS, **params, "random_state": args.seed}
    if args.check_rows < 200:
        raise UsageError(f"--check-rows must be at least 200, got {args.check_rows}")
    return args


def load_runtime_explainer():
    """The exact module the function ships, imported from handler/ (it needs numpy only)."""
    sys.path.insert(0, str(HANDLER_DIR))
    try:
        import explainer
    finally:
        sys.path.remove(str(HANDLER_DIR))
    return explainer


def prove(model, document: dict, x_check: np.ndarray) -> dict:
    """Checks the deployed document (as the function will parse it) against sklearn and shap."""
    import shap

    explainer = load_runtime_explainer()
    try:
        runtime = explainer.TreeEnsembleExplainer(document["ensemble"], len(FEATURES))
    except explainer.ModelFormatError as err:
        raise UsageError(f"the function cannot serve this model: {err}") from err
    ours = runtime.explain(x_check)
    reference = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    expected = np.asarray(reference.shap_values(x_check))
    expected = expected[:, :, 1] if expected.ndim == 3 else expected
    expected_base = float(np.ravel(reference.expected_value)[-1])
    proba = model.predict_proba(x_check)[:, 1]

    shap_diff = float(np.max(np.abs(ours.shap - expected)))
    proba_diff = float(np.max(np.abs(ours.probability - proba)))
    additivity = float(np.max(np.abs(ours.base_value + ours.shap.sum(axis=1) - ours.probability)))
    base_diff = abs(ours.base_value - expected_base)
    failures = []
    if not shap_diff <= SHAP_TOLERANCE:
        failures.append(f"SHAP differs from shap.TreeExplainer by {shap_diff:.3g} (> {SHAP_TOLERANCE:g})")
    if not base_diff <= SHAP_TOLERANCE:
        failures.append(f"base value differs from shap's expected_value by {base_diff:.3g}")
    if not proba_diff <= PROBABILITY_TOLERANCE:
        failures.append(f"probability differs from predict_proba by {proba_diff:.3g} (> {PROBABILITY_TOLERANCE:g})")
    if not additivity <= PROBABILITY_TOLERANCE:
        failures.append(f"base + sum(SHAP) misses the probability by {additivity:.3g}")
    if failures:
        raise ProofError("; ".join(failures))
    return {"rows": int(len(x_check)), "max_abs_shap_diff": shap_diff, "max_abs_probability_diff": proba_diff,
            "max_additivity_error": additivity, "base_value": ours.base_value, "shap": ours.shap}


def write_plot(path: Path, shap_values: np.ndarray, rows: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    importance = np.abs(shap_values).mean(axis=0)
    order = np.argsort(importance)
    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=110)
    ax.barh([FEATURES[i] for i in order], importance[order], color="#3b75af")
    ax.set_title("What drives the predicted default risk\n"
                 f"mean |SHAP value| per feature, {rows} validation rows")
    ax.set_xlabel("mean |SHAP value| (change in predicted probability)")
    for i, value in enumerate(importance[order]):
        ax.text(value, i, f" {value:.4f}", va="center", fontsize=8)
    ax.margins(x=0.15)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def library_versions() -> dict:
    import joblib
    import pandas
    import shap
    import sklearn

    return {"python": platform.python_version(), "numpy": np.__version__, "pandas": pandas.__version__,
            "scikit-learn": sklearn.__version__, "shap": shap.__version__, "joblib": joblib.__version__}


def build(args: argparse.Namespace) -> None:
    import joblib
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
    from sklearn.model_selection import train_test_split

    if args.data:
        progress(f"reading {args.data}")
        frame, data_hash = load_credit_csv(args.data, args.target)
        source = {"kind": "csv", "file": args.data.name}
        target = args.target
    else:
        progress(f"generating {args.rows} synthetic rows (seed {args.seed})")
        frame = synthetic_credit_data(args.rows, args.seed)
        data_hash = frame_sha256(frame)
        source = {"kind": "synthetic", "rows": args.rows, "seed": args.seed}
        target = TARGET
    x_all = frame[FEATURES].to_numpy(dtype=np.float64)
    y_all = frame[target].to_numpy(dtype=np.int64)
    if len(frame) < max(args.check_rows, 20):
        raise DataError(f"need at least {max(args.check_rows, 20)} rows to train and verify, the data has {len(frame)}")
    progress(f"{len(frame)} rows, {y_all.mean():.1%} positive; missing: " + ", ".join(
        f"{name} {np.isnan(x_all[:, i]).mean():.1%}" for i, name in enumerate(FEATURES) if np.isnan(x_all[:, i]).any())
        + " (others complete)")

    x_train, x_val, y_train, y_val = train_test_split(
        x_all, y_all, test_size=0.2, random_state=args.seed, stratify=y_all)
    medians = np.nanmedian(x_train, axis=0)
    if np.isnan(medians).any():
        raise DataError(f"column {FEATURES[int(np.argmax(np.isnan(medians)))]!r} has no values in the training split")
    imputable = np.isnan(x_all).any(axis=0)
    impute = lambda x: np.where(np.isnan(x), medians, x)  # noqa: E731
    x_train_i, x_val_i = impute(x_train), impute(x_val)

    progress(f"training RandomForestClassifier {json.dumps(args.params, sort_keys=True)}")
    try:
        model = RandomForestClassifier(**args.params)
        model.fit(x_train_i, y_train)
    except (TypeError, ValueError) as err:
        raise UsageError(f"invalid --params for RandomForestClassifier: {err}") from err

    proba_val = model.predict_proba(x_val_i)[:, 1]
    metrics = {
        "roc_auc": float(roc_auc_score(y_val, proba_val)) if len(set(y_val)) == 2 else None,
        "accuracy": float(accuracy_score(y_val, proba_val >= DECISION_THRESHOLD)),
        "log_loss": float(log_loss(y_val, proba_val, labels=[0, 1])),
        "decision_threshold": DECISION_THRESHOLD,
        "class_balance": {"train_rows": int(len(y_train)), "train_positive_rate": float(y_train.mean()),
                          "validation_rows": int(len(y_val)), "validation_positive_rate": float(y_val.mean())},
    }
    auc = "n/a" if metrics["roc_auc"] is None else f"{metrics['roc_auc']:.4f}"
    progress(f"validation: ROC AUC {auc}, accuracy {metrics['accuracy']:.4f}, "
             f"log loss {metrics['log_loss']:.4f}")

    document = model_document(FEATURES, medians.tolist(), model)
    # Verify exactly what will be deployed: the bytes re-parsed, as the function sees them.
    draft = canonical_json(document)
    # Validation rows first; a small data set is topped up with training rows to reach --check-rows.
    x_check = np.concatenate([x_val_i, x_train_i[: max(0, args.check_rows - len(x_val_i))]])
    progress(f"verifying the runtime explainer against shap.TreeExplainer on {len(x_check)} rows")
    proof = prove(model, json.loads(draft), x_check)
    if proof["rows"] < args.check_rows:
        raise ProofError(f"only {proof['rows']} rows verified, {args.check_rows} required")
    document["base_value"] = proof["base_value"]
    model_bytes = canonical_json(document)
    model_sha = hashlib.sha256(model_bytes).hexdigest()
    progress(f"proof passed: max |SHAP diff| {proof['max_abs_shap_diff']:.2e}, max |probability diff| "
             f"{proof['max_abs_probability_diff']:.2e}, max additivity error {proof['max_additivity_error']:.2e}")

    integral = [bool(np.all(np.equal(np.mod(col[~np.isnan(col)], 1), 0))) for col in x_all.T]
    complete = x_val[~np.isnan(x_val).any(axis=1)][0]
    example = {name: int(complete[i]) if integral[i] else float(complete[i]) for i, name in enumerate(FEATURES)}
    card = {
        "name": "credit-default-risk",
        "version": model_sha[:12],
        "description": "Probability of serious delinquency within two years, with exact SHAP values per feature.",
        "target": target,
        "model": {"estimator": "RandomForestClassifier", "params": args.params},
        "features": [
            {"name": name, "type": "integer" if integral[i] else "number",
             "missing": "impute_median" if imputable[i] else "required", "median": float(medians[i])}
            for i, name in enumerate(FEATURES)
        ],
        "missing_value_policy": "A feature with missing 'impute_median' may be null: the training median is used "
                                "and the feature is listed in the record's 'imputed'. Every feature key is required.",
        "base_value": proof["base_value"],
        "decision": {"threshold": DECISION_THRESHOLD, "rule": "probability >= threshold",
                     "labels": {"true": "decline", "false": "approve"}},
        "limits": LIMITS,
        "example_request": example,
        "training_data": {**source, "sha256": data_hash, "rows": int(len(frame))},
        "libraries": library_versions(),
        "metrics": {k: metrics[k] for k in ("roc_auc", "accuracy", "log_loss")}
                   | {"validation_positive_rate": metrics["class_balance"]["validation_positive_rate"]},
        "explainer": {"method": "exact path-dependent TreeSHAP (numpy, tabulated per leaf)",
                      "verified_against": "shap.TreeExplainer(feature_perturbation='tree_path_dependent')",
                      "verified_rows": proof["rows"], "max_abs_shap_diff": proof["max_abs_shap_diff"]},
        "artifacts": {"model.json": {"sha256": model_sha, "bytes": len(model_bytes)}},
        "plot": "shap_importance.png",
    }

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.json").write_bytes(model_bytes)
    (out / "model_card.json").write_bytes(canonical_json(card))
    (out / "metrics.json").write_bytes(canonical_json(metrics))
    joblib.dump(model, out / "model.joblib")
    write_plot(out / "shap_importance.png", proof["shap"][: len(x_val_i)], min(len(x_val_i), proof["rows"]))
    progress(f"wrote model.json ({len(model_bytes)} bytes, sha256 {model_sha[:12]}), model_card.json, "
             f"metrics.json, shap_importance.png, model.joblib to {out}")


def main(argv: list[str]) -> int:
    try:
        build(parse_args(argv))
    except (DataError, UsageError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ProofError as err:
        print(f"error: the runtime explainer failed its build-time proof: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
