"""XGBoost's own answers for test_export_xgboost.py, computed where xgboost is installed.

Run with an interpreter that has xgboost and pandas (on this project's test machine: Debian's
/usr/bin/python3 with python3-xgboost, see scripts/ensure-xgboost.sh); the exporter under test never
imports xgboost. Usage: ``xgb_oracle.py OUT_DIR``. Writes, per model NAME:

* ``NAME.json``  the model, ``save_model`` in XGBoost's JSON format;
* ``NAME.npz``   ``x`` (float32 records, NaN = missing, categorical columns as category codes),
  ``margin`` (n, K) from ``predict(output_margin=True)``, ``pred`` from ``predict()``,
  ``contribs`` (n, K, F + 1) from ``predict(pred_contribs=True)`` (last column: the bias), and for
  some models ``margin_range`` / ``iteration_range`` (a prediction over part of the rounds).

plus ``manifest.json``: the models, their objectives and XGBoost's version. Deterministic (fixed
seeds, one thread) and small: a few seconds on one core.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

N_TRAIN, N_EVAL = 600, 300


def numeric_data(rng, n, n_features=5, nan_cols=(1, 3), nan_rate=0.15):
    x = rng.normal(size=(n, n_features)).astype(np.float32)
    x[:, 4] = np.round(x[:, 4] * 2) / 2  # a few repeated values: splits land between them
    for c in nan_cols:
        x[rng.random(n) < nan_rate, c] = np.nan
    return x


def signal(x):
    z = np.nan_to_num(x, nan=-0.5)
    return 1.2 * z[:, 0] - z[:, 1] + 0.8 * z[:, 2] * z[:, 3] + 0.5 * np.sin(3 * z[:, 4])


def boundary_rows(model_json: dict, x: np.ndarray, limit=120) -> np.ndarray:
    """Records sitting exactly on split conditions, one float32 step below and above them."""
    rows = []
    trees = model_json["learner"]["gradient_booster"]["model"]["trees"]
    for tree in trees:
        for node, left in enumerate(tree["left_children"]):
            if left == -1 or tree.get("split_type", [0] * (node + 1))[node] != 0:
                continue
            cond = np.float32(tree["split_conditions"][node])
            f = tree["split_indices"][node]
            for value in (cond, np.nextafter(cond, np.float32(-np.inf)), np.nextafter(cond, np.float32(np.inf))):
                row = x[len(rows) % len(x)].copy()
                row[f] = value
                rows.append(row)
            if len(rows) >= limit:
                return np.array(rows, dtype=np.float32)
    return np.array(rows, dtype=np.float32).reshape(-1, x.shape[1])


def as_matrix(x: np.ndarray, cat_cols=(), n_cats=0) -> xgb.DMatrix:
    if not cat_cols:
        return xgb.DMatrix(x)
    frame = pd.DataFrame({f"f{i}": x[:, i] for i in range(x.shape[1])})
    for c in cat_cols:
        codes = np.where(np.isnan(x[:, c]), -1, x[:, c]).astype(int)
        frame[f"f{c}"] = pd.Categorical.from_codes(codes, categories=list(range(n_cats)))
    return xgb.DMatrix(frame, enable_categorical=True)


def save(out: Path, name: str, booster: xgb.Booster, x_eval: np.ndarray, manifest: dict,
         cat_cols=(), n_cats=0, iteration_range=None):
    booster.save_model(str(out / f"{name}.json"))
    model_json = json.loads((out / f"{name}.json").read_text())
    if not cat_cols:
        x_eval = np.concatenate([x_eval, boundary_rows(model_json, x_eval)])
    d = as_matrix(x_eval, cat_cols, n_cats)
    n = x_eval.shape[0]
    margin = booster.predict(d, output_margin=True).reshape(n, -1)
    k = margin.shape[1]
    contribs = booster.predict(d, pred_contribs=True).reshape(n, k, -1)
    arrays = dict(x=x_eval, margin=margin, pred=booster.predict(d), contribs=contribs)
    if iteration_range is not None:
        arrays["iteration_range"] = np.array(iteration_range)
        arrays["margin_range"] = booster.predict(d, output_margin=True,
                                                 iteration_range=iteration_range).reshape(n, -1)
    np.savez(out / f"{name}.npz", **arrays)
    manifest["models"][name] = {"objective": model_json["learner"]["objective"]["name"],
                                "n_outputs": k, "n_features": x_eval.shape[1], "rows": n,
                                "categorical": list(cat_cols)}


def main(out: Path) -> None:
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"xgboost": xgb.__version__, "models": {}}
    rng = np.random.default_rng(20240611)
    x = numeric_data(rng, N_TRAIN)
    x_eval = numeric_data(rng, N_EVAL)
    s = signal(x)
    y_bin = (s + rng.normal(scale=0.5, size=N_TRAIN) > 0.3).astype(int)
    y_multi = np.digitize(s + rng.normal(scale=0.5, size=N_TRAIN), [-0.5, 0.7])
    y_reg = 3.0 + 2.0 * s + rng.normal(scale=0.3, size=N_TRAIN)
    base = {"tree_method": "hist", "nthread": 1, "seed": 7, "verbosity": 0, "max_depth": 4, "eta": 0.3}

    def train(params, y, rounds, data=None, **kw):
        return xgb.train({**base, **params}, data if data is not None else xgb.DMatrix(x, y), rounds, **kw)

    save(out, "binary_default", train({"objective": "binary:logistic"}, y_bin, 12), x_eval, manifest)
    save(out, "binary_base03", train({"objective": "binary:logistic", "base_score": 0.3}, y_bin, 8),
         x_eval, manifest)
    save(out, "logitraw_base03", train({"objective": "binary:logitraw", "base_score": 0.3}, y_bin, 8),
         x_eval, manifest)
    save(out, "multi_softprob", train({"objective": "multi:softprob", "num_class": 3}, y_multi, 8),
         x_eval, manifest, iteration_range=(2, 5))
    save(out, "multi_softmax_base02", train({"objective": "multi:softmax", "num_class": 3, "base_score": 0.2},
                                            y_multi, 5), x_eval, manifest)
    save(out, "reg_squared_base", train({"objective": "reg:squarederror", "base_score": 2.5}, y_reg, 12),
         x_eval, manifest)
    save(out, "reg_absolute", train({"objective": "reg:absoluteerror"}, y_reg, 8), x_eval, manifest)
    save(out, "reg_pseudohuber", train({"objective": "reg:pseudohubererror", "huber_slope": 2.0}, y_reg, 8),
         x_eval, manifest)
    save(out, "reg_parallel", train({"objective": "reg:squarederror", "num_parallel_tree": 3, "subsample": 0.8,
                                     "colsample_bynode": 0.8}, y_reg, 4), x_eval, manifest,
         iteration_range=(1, 3))
    deep = train({"objective": "binary:logistic", "max_depth": 9, "min_child_weight": 0.1, "eta": 0.5},
                 y_bin, 4)
    save(out, "binary_deep9", deep, x_eval, manifest)

    # A native categorical column (pandas 'category', codes 0..7; 8 and 9 never seen in training) with
    # partition splits and, with a high max_cat_to_onehot, one-hot splits.
    n_cats = 10
    xc = x.copy()
    xc[:, 2] = rng.integers(0, 8, size=N_TRAIN)
    xc[rng.random(N_TRAIN) < 0.1, 2] = np.nan
    xc_eval = x_eval.copy()
    xc_eval[:, 2] = rng.integers(0, n_cats, size=N_EVAL)
    xc_eval[rng.random(N_EVAL) < 0.1, 2] = np.nan
    effect = np.array([1.0, -1.0, 0.5, -0.5, 1.5, 0.0, -1.5, 0.8])[np.nan_to_num(xc[:, 2], nan=5).astype(int)]
    yc_bin = (s + 1.5 * effect + rng.normal(scale=0.5, size=N_TRAIN) > 0.3).astype(int)
    yc_multi = np.digitize(s + effect + rng.normal(scale=0.5, size=N_TRAIN), [-0.5, 0.7])
    dc = as_matrix(xc, (2,), n_cats)
    dc.set_label(yc_bin)
    save(out, "cat_partition", train({"objective": "binary:logistic", "max_cat_to_onehot": 1}, None, 10, data=dc),
         xc_eval, manifest, cat_cols=(2,), n_cats=n_cats)
    save(out, "cat_onehot", train({"objective": "binary:logistic", "max_cat_to_onehot": 16}, None, 10, data=dc),
         xc_eval, manifest, cat_cols=(2,), n_cats=n_cats)
    dc.set_label(yc_multi)
    save(out, "cat_multi", train({"objective": "multi:softprob", "num_class": 3, "max_cat_to_onehot": 1}, None, 5,
                                 data=dc), xc_eval, manifest, cat_cols=(2,), n_cats=n_cats)

    # Refused by the exporter: only the JSON is needed.
    for name, params in (("refused_dart", {"booster": "dart", "objective": "binary:logistic"}),
                         ("refused_gblinear", {"booster": "gblinear", "objective": "reg:squarederror"}),
                         ("refused_poisson", {"objective": "count:poisson"}),
                         ("refused_reg_logistic", {"objective": "reg:logistic"})):
        y = y_bin if "logistic" in params["objective"] else np.abs(np.round(y_reg))
        train(params, y, 2).save_model(str(out / f"{name}.json"))
    manifest["seconds"] = round(time.perf_counter() - started, 3)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: xgb_oracle.py OUT_DIR")
    main(Path(sys.argv[1]))
