"""Trains the configured tree model and writes its artifacts, proving the function's explainer exact.

    python python/build_model_artifacts.py --out DIR [--data CSV --target COLUMN] [--estimator NAME]
        [--task binary|multiclass|regression] [--seed N] [--params JSON] [--spec JSON]
        [--check-rows N] [--rows N]

Without --data it trains on the synthetic credit example. --spec carries the rest of the model
configuration: features, exclude, required, constraints, unseenCategories, decision, reasons, name.
Deployed (plain data, no pickle): model.json, model_card.json.
Kept locally: metrics.json, shap_importance.svg, model.joblib (a Pipeline taking the raw columns),
validation_index.csv (the held-out rows: 0-based positions among the data rows, in data order; for the
built-in example also example_validation.csv, those rows themselves), and
reference.csv (the reference rows, with model.reference).
Exit codes: 0 success, 2 bad input (data, configuration), 1 the build-time proof failed.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from credit_data import FEATURES as CREDIT_FEATURES
from credit_data import TARGET as CREDIT_TARGET
from credit_data import synthetic_credit_data
from estimators import DEFAULT_PARAMS, ESTIMATORS, UsageError, fit_params, make_estimator, make_pipeline, max_categories
from pipe_export import ExportError, ProofError, canonical_json, export_model
from pipe_export.card import mean_abs_shap, output_meaning
from pipe_export.handler_code import handler_modules
from pipe_export.classes import check_decision, positive_index
import fairness as fairness_report
import reference_rows
from tabular_data import DataError, Table, frame_sha256, infer_task, read_table

SYNTHETIC_ROWS = 20_000
SPEC_KEYS = {"features", "exclude", "required", "constraints", "unseenCategories", "decision", "reasons", "name",
             "description", "positiveClass", "reference", "shapOutput", "fairness"}
# The built-in example's forest, when it is given no hyperparameters of its own.
CREDIT_EXAMPLE_PARAMS = {"random_forest": {"n_estimators": 50, "max_depth": 6, "max_leaf_nodes": 30}}
CREDIT_EXAMPLE = {"name": "credit-default-risk",
                  "description": "Probability of serious delinquency within two years, with exact SHAP values "
                                 "per feature.",
                  "decision": {"positive": "decline", "negative": "approve"},
                  "reasons": {"subject": "risk"}}
_started = time.perf_counter()


def progress(message: str) -> None:
    print(f"[{time.perf_counter() - _started:5.1f}s] {message}", flush=True)


def _json_arg(text: str, flag: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(f"{flag} is not valid JSON: {err}") from err
    if not isinstance(value, dict):
        raise UsageError(f"{flag} must be a JSON object, e.g. '{{\"n_estimators\": 100}}'")
    return value


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="directory to write the artifacts into")
    parser.add_argument("--data", type=Path, help="training CSV (default: the synthetic credit example)")
    parser.add_argument("--target", help="target column of --data")
    parser.add_argument("--estimator", default="random_forest", help=f"one of {', '.join(ESTIMATORS)}")
    parser.add_argument("--task", choices=("binary", "multiclass", "regression"), help="default: from the target")
    parser.add_argument("--seed", type=int, default=0, help="seed for data generation, split and estimator")
    parser.add_argument("--params", default="{}", help="JSON object of the estimator's hyperparameters")
    parser.add_argument("--spec", default="{}", help="JSON object: features, exclude, required, constraints, "
                                                     "unseenCategories, decision, reasons, name, description")
    parser.add_argument("--rows", type=int, default=SYNTHETIC_ROWS, help="synthetic rows when no --data")
    parser.add_argument("--check-rows", type=int, default=200, help="rows in the SHAP proof (>= 200)")
    args = parser.parse_args(argv)
    args.params = _json_arg(args.params, "--params")
    args.spec = _json_arg(args.spec, "--spec")
    unknown = sorted(set(args.spec) - SPEC_KEYS)
    if unknown:
        raise UsageError(f"--spec has unknown key {unknown[0]!r}; allowed: {', '.join(sorted(SPEC_KEYS))}")
    if args.estimator not in ESTIMATORS:
        raise UsageError(f"unknown estimator {args.estimator!r}; choose one of: {', '.join(ESTIMATORS)}")
    if args.check_rows < 200:
        raise UsageError(f"--check-rows must be at least 200, got {args.check_rows}")
    if args.data and not args.target:
        raise UsageError("--target is required with --data (model.target in pipeline.config.ts)")
    return args


def load(args: argparse.Namespace) -> tuple[Table, dict]:
    if args.data:
        progress(f"reading {args.data}")
        exclude = list(args.spec.get("exclude") or [])
        if args.spec.get("fairness") is not None:
            # Group columns are read for the fairness report only: never features.
            columns = read_header(args.data)
            args.fairness = fairness_report.check_setting(args.spec["fairness"], args.spec.get("features"), columns)
            exclude += [g for g in args.fairness["groups"] if g not in exclude]
        table = read_table(args.data, args.target, args.spec.get("features"), exclude)
        return table, {"kind": "csv", "file": args.data.name, "sha256": table.sha256}
    if args.spec.get("fairness") is not None:
        raise UsageError("model.fairness needs model.data: the group columns come from your training data")
    progress(f"generating {args.rows} synthetic rows (seed {args.seed})")
    frame = synthetic_credit_data(args.rows, args.seed)
    frame = frame[[*CREDIT_FEATURES, CREDIT_TARGET]]
    table = Table(frame, list(CREDIT_FEATURES), {f: "number" for f in CREDIT_FEATURES}, CREDIT_TARGET,
                  frame_sha256(frame))
    if not args.params:
        args.params = dict(CREDIT_EXAMPLE_PARAMS.get(args.estimator, {}))
    args.spec = {**CREDIT_EXAMPLE, **args.spec,
                 "decision": {**CREDIT_EXAMPLE["decision"], **args.spec.get("decision", {})},
                 "reasons": {**CREDIT_EXAMPLE["reasons"], **args.spec.get("reasons", {})}}
    return table, {"kind": "synthetic", "rows": args.rows, "seed": args.seed, "sha256": table.sha256}


def read_header(path: Path) -> list[str]:
    import pandas as pd

    try:
        return [c for c in pd.read_csv(path, nrows=0, dtype=str).columns if not c.startswith("Unnamed:")]
    except (OSError, pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise DataError(f"{path} is not a readable CSV: {err}") from err


def group_frame(path: Path, setting: dict, rows) -> "pd.DataFrame":
    """The group columns' values (or bands) for the data rows at positions ``rows``."""
    import pandas as pd

    raw = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=setting["groups"])
    picked = raw.iloc[rows]
    return pd.DataFrame({name: fairness_report.group_values(picked[name], setting["bands"].get(name), name)
                         for name in setting["groups"]})


def fairness_of(args, task: str, pipeline, x_val, y_val, positive: object) -> dict:
    spec = args.spec
    # The table's frame keeps the CSV's row positions as its index.
    groups = group_frame(args.data, args.fairness, x_val.index.to_numpy())
    if task == "regression":
        return fairness_report.report(args.fairness, groups, task, predicted=np.asarray(pipeline.predict(x_val), float))
    classes = [c.item() if isinstance(c, np.generic) else c for c in pipeline.classes_]
    proba = pipeline.predict_proba(x_val)
    if task == "multiclass":
        return fairness_report.report(args.fairness, groups, task, proba=proba, classes=classes)
    decision = {"negative": classes[1 - classes.index(positive)], "positive": positive, "threshold": 0.5,
                **(spec.get("decision") or {})}
    return fairness_report.report(args.fairness, groups, task, proba=proba, classes=classes, positive=positive,
                                  decision=decision, observed=np.asarray(y_val))


def check_task(table: Table, task: str) -> None:
    y = table.frame[table.target]
    distinct = y.nunique()
    if task == "binary" and distinct != 2:
        raise DataError(f"task 'binary' needs a target with two values; {table.target!r} has {distinct}")
    if task == "regression" and not np.issubdtype(y.dtype, np.number):
        raise DataError(f"task 'regression' needs a numeric target; {table.target!r} holds text")
    if task == "multiclass" and distinct > 200:
        raise DataError(f"task 'multiclass': {table.target!r} has {distinct} classes (at most 200); "
                        "is it a regression target?")


def positive_class_of(table: Table, task: str, spec: dict) -> object:
    """A binary target's positive class, settled before any training (None for other tasks)."""
    given = spec.get("positiveClass")
    if task != "binary":
        if given is not None:
            raise UsageError(f"model.positiveClass is set, but the task is {task}: only a binary model has one")
        return None
    # The estimator's own order of the labels (np.unique's, as scikit-learn's classes_).
    classes = [c.item() if isinstance(c, np.generic) else c for c in np.unique(table.frame[table.target])]
    positive = positive_index(classes, given, "model.positiveClass")
    check_decision(classes, positive, spec.get("decision") or {}, "model.decision", "model.positiveClass")
    return classes[positive]


def settled_settings(table: Table, task: str, spec: dict) -> tuple[object, dict | None]:
    """(the positive class, the checked model.reference or None): every setting the task decides on,
    refused (UsageError, exit 2) before any training where the task makes it meaningless."""
    positive = positive_class_of(table, task, spec)
    if task != "binary" and spec.get("decision") is not None:
        answer = "label is the most probable class" if task == "multiclass" else "prediction is the value itself"
        raise UsageError(f"model.decision is set, but the task is {task}: a decision is a threshold on a binary "
                         f"model's probability, and this model's {answer}; remove model.decision")
    reference_setting = None
    if spec.get("reference") is not None:
        reference_setting = reference_rows.check_setting(spec["reference"])
        if reference_setting["from"] == "near-cutoff" and task != "binary":
            raise UsageError(f"model.reference from 'near-cutoff' needs a binary model with a decision; "
                             f"this one is {task}: use from 'training' or 'file'")
    if spec.get("shapOutput") == "probability" and task == "regression":
        raise UsageError("model.shapOutput is 'probability', but the task is regression: its SHAP values are in the "
                         "target's own unit ('raw'); remove model.shapOutput")
    if spec.get("shapOutput") == "probability" and reference_setting is None:
        raise UsageError("model.shapOutput 'probability' needs model.reference: SHAP values in probability "
                         "points are measured against reference rows")
    return positive, reference_setting


def choose_reference(setting: dict, spec: dict, table: Table, x_train, pipeline, task: str, positive: object,
                     categories: dict, seed: int):
    """(rows of the raw feature columns, what the card says of them) for model.reference."""
    kind = setting["from"]
    if kind == "training":
        return reference_rows.training_sample(x_train, setting["size"], seed)
    if kind == "file":
        return reference_rows.from_file(Path(setting["file"]), table, categories)
    decision = {"threshold": 0.5, **(spec.get("decision") or {})}
    classes = [c.item() if isinstance(c, np.generic) else c for c in pipeline.classes_]
    labels = {"positive": decision.get("positive", positive),
              "negative": decision.get("negative", classes[1 - classes.index(positive)])}
    score = pipeline.predict_proba(x_train)[:, classes.index(positive)]
    return reference_rows.near_cutoff(x_train, score, float(decision["threshold"]), setting["size"], setting["band"],
                                      setting["side"], labels, seed)


# Columns with missing values the build log names; past them it counts the rest.
MISSING_NAMED = 6


def share_text(share: float) -> str:
    """A share as a percentage that reads 0% or 100% only when it is (one row in 2,400 is not 100%)."""
    text = f"{share:.1%}"
    if text == "100.0%" and share < 1:
        return ">99.9%"
    return "<0.1%" if text == "0.0%" and share > 0 else text


def constant_note(frame, features: list[str]) -> str | None:
    """A line for the build log naming the features with one value in every row (missing counts as a
    value): no split can use them, so their SHAP values are always 0."""
    constant = [f for f in features if frame[f].nunique(dropna=False) == 1]
    if not constant:
        return None
    one = len(constant) == 1
    return (f"{', '.join(constant)}: the same value in every row, so no split can use {'it' if one else 'them'}: "
            f"{'its SHAP value is' if one else 'their SHAP values are'} always 0 (model.exclude drops "
            f"{'it' if one else 'them'})")


def missing_summary(missing: dict[str, float]) -> str:
    """The features' missing shares for the build log: every one for a few columns, else the most
    missing and a count of the rest (a table of dozens of survey columns would fill the screen)."""
    if not missing:
        return "none missing"
    named = sorted(missing.items(), key=lambda kv: -kv[1]) if len(missing) > MISSING_NAMED else list(missing.items())
    text = ", ".join(f"{k} {share_text(v)}" for k, v in named[:MISSING_NAMED]) + " missing"
    rest = len(named) - MISSING_NAMED
    return text + (f"; {rest} more features have missing values (the card's 'missing_means' says how each is handled)"
                   if rest > 0 else "")


def show_metric(value: float) -> str:
    """A metric as the build log writes it: scores to 4 places, errors in a price's unit as the reasons
    write numbers (39,321; 4062)."""
    if abs(value) < 1000:
        return f"{value:.4f}"
    [reasons] = handler_modules("reasons")
    return reasons.show_number(value)


def categories_of(table: Table, estimator: str, params: dict) -> dict[str, list]:
    limit = max_categories(estimator, params)
    categories = {}
    for name in table.features:
        kind = table.kinds[name]
        if kind == "number":
            continue
        values = table.frame[name].dropna()
        levels = sorted(values.unique().tolist(), key=lambda v: (str(type(v)), v))
        if len(levels) > limit:
            raise DataError(f"category column {name!r} has {len(levels)} levels; {estimator} takes at most {limit} "
                            "(an id column? drop it with model.exclude)")
        categories[name] = levels
    return categories


def metrics_for(task: str, model, x_val, y_val, positive: object = None) -> dict:
    """Validation metrics; a binary model's AUC and positive rate are of its positive class."""
    from sklearn import metrics

    if task == "regression":
        predicted = model.predict(x_val)
        return {"rmse": float(np.sqrt(metrics.mean_squared_error(y_val, predicted))),
                "mae": float(metrics.mean_absolute_error(y_val, predicted)),
                "r2": float(metrics.r2_score(y_val, predicted)), "validation_rows": int(len(y_val))}
    proba = model.predict_proba(x_val)
    classes = list(model.classes_)
    result = {"accuracy": float(np.mean(np.asarray(classes)[proba.argmax(1)] == np.asarray(y_val))),
              "log_loss": float(metrics.log_loss(y_val, proba, labels=classes)), "validation_rows": int(len(y_val))}
    present = set(y_val.tolist())
    if task == "binary" and len(present) == 2:
        column = classes.index(positive)
        result["roc_auc"] = float(metrics.roc_auc_score(y_val == positive, proba[:, column]))
        result["validation_positive_rate"] = float(np.mean(y_val == positive))
    elif task == "multiclass" and present == set(classes):
        result["roc_auc_ovr"] = float(metrics.roc_auc_score(y_val, proba, multi_class="ovr", labels=classes))
    return result


def write_plot(path: Path, importance: np.ndarray, names: list[str], rows: int, card: dict, moved: str) -> None:
    """The mean |SHAP value| of each feature as horizontal bars, largest first, each with its value; the
    title says over how many rows, the axis which output the bars move (``moved``, card.output_meaning)
    and the card's reference what they are measured against. An SVG written as text: the names and
    numbers stay text (searchable, read by a screen reader), sharp at any size."""
    from xml.sax.saxutils import escape

    [reasons] = handler_modules("reasons")  # numbers as the reasons write them: 0.1542, 8,093
    task = card["task"]
    scope = ", summed over classes" if task == "multiclass" else ""
    against = (card.get("reference") or {}).get("description")
    notes = [f"mean |SHAP value| per feature, {rows} rows", *([f"measured against {against}"] if against else [])]
    title = f"What drives the model's {task} output: {'; '.join(notes)}"
    axis = f"mean |SHAP value| (change in the {moved}{scope})"
    order = np.argsort(-importance, kind="stable")
    row, top, bar_width = 22, 34 + 18 * len(notes), 420
    label_width = 12 + 7 * max((len(n) for n in names), default=4)
    # Widths of text by an average glyph of 12px sans-serif, wide enough for the notes.
    width = max(label_width + bar_width + 90, 24 + 7 * max(len(n) for n in notes))
    height = top + row * len(names) + 44
    largest = float(importance.max(initial=0.0)) or 1.0

    def text(x: float, y: float, words: str, **attrs: object) -> str:
        """A text element; attrs' underscores are the attributes' hyphens (font_size: font-size)."""
        named = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
        return f'<text x="{x:g}" y="{y:g}"{named}>{escape(words)}</text>'

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-labelledby="title" font-family="sans-serif" font-size="12">',
             f'<title id="title">{escape(title)}</title>', f'<rect width="{width}" height="{height}" fill="#fff"/>',
             text(12, 22, f"What drives the model's {task} output", font_size=15, font_weight="bold"),
             *(text(12, 40 + 18 * i, note, fill="#444") for i, note in enumerate(notes))]
    for i, feature in enumerate(order):
        y = top + i * row
        value = float(importance[feature])
        length = bar_width * value / largest
        parts += [text(label_width - 8, y + 15, names[feature], text_anchor="end"),
                  f'<rect x="{label_width}" y="{y + 4}" width="{length:.2f}" height="{row - 8}" fill="#3b75af"/>',
                  text(label_width + length + 6, y + 15, reasons.show_number(value), font_size=11)]
    axis_y = top + row * len(names) + 4
    parts += [f'<line x1="{label_width}" x2="{label_width + bar_width}" y1="{axis_y}" y2="{axis_y}" stroke="#888"/>',
              text(label_width + bar_width / 2, axis_y + 24, axis, text_anchor="middle"), "</svg>"]
    path.write_text("\n".join(parts) + "\n")


def library_versions() -> dict:
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for name in ("numpy", "pandas", "scikit-learn", "shap", "joblib", "lightgbm", "xgboost"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def build(args: argparse.Namespace) -> None:
    import joblib
    from sklearn.model_selection import train_test_split

    table, source = load(args)
    frame, features, target = table.frame, table.features, table.target
    task = args.task or infer_task(frame[target])
    check_task(table, task)
    if len(frame) < 20:
        raise DataError(f"need at least 20 rows to train and validate, the data has {len(frame)}")
    missing = {f: float(frame[f].isna().mean()) for f in features if frame[f].isna().any()}
    progress(f"{len(frame)} rows, {len(features)} features ({missing_summary(missing)}), task {task}")
    note = constant_note(frame, features)
    if note:
        progress(note)

    positive, reference_setting = settled_settings(table, task, args.spec)
    categories = categories_of(table, args.estimator, args.params)
    estimator = make_estimator(args.estimator, task, args.params, args.seed)
    pipeline = make_pipeline(args.estimator, estimator, features, table.kinds, categories)
    y = frame[target]
    stratify = y if task != "regression" and y.value_counts().min() >= 2 else None
    x_train, x_val, y_train, y_val = train_test_split(frame[features], y, test_size=0.2, random_state=args.seed,
                                                      stratify=stratify)
    chosen = {k: v for k, v in estimator.get_params(deep=False).items() if k in {**DEFAULT_PARAMS.get(args.estimator, {}), **args.params}}
    progress(f"training {type(estimator).__name__} {json.dumps(chosen, sort_keys=True, default=str)}")
    try:
        pipeline.fit(x_train, y_train, **fit_params(args.estimator, features, table.kinds))
    except (TypeError, ValueError) as err:
        raise UsageError(f"{type(estimator).__name__} could not be trained: {err}") from err
    metrics = metrics_for(task, pipeline, x_val, y_val, positive)
    # What a number is of: a regression's errors are in its target's unit, a positive rate is of one class.
    of = {"rmse": f" (in {target})", "mae": f" (in {target})"} if task == "regression" else \
        {"validation_positive_rate": f" ({target} is {positive})"}
    progress(f"validation on {len(y_val)} held-out rows: " + ", ".join(
        f"{k} {show_metric(v)}{of.get(k, '')}" for k, v in metrics.items() if isinstance(v, float)))

    spec = args.spec
    fairness = None
    if getattr(args, "fairness", None):
        fairness = fairness_of(args, task, pipeline, x_val, y_val, positive)
        for line in fairness_report.table_lines(fairness):
            progress(line)
        if fairness.get("failing"):
            raise fairness_report.FairnessGateError(
                f"model.fairness.minAir is {fairness['min_air']}: {', '.join(fairness['failing'])} "
                "fall below it (the table above); the earlier artifacts are kept")
    reference, reference_info = None, None
    if reference_setting is not None:
        reference, reference_info = choose_reference(reference_setting, spec, table, x_train, pipeline, task,
                                                     positive, categories, args.seed)
    progress(f"exporting and verifying the function's explainer on at least {args.check_rows} rows")
    check = frame[features].iloc[np.r_[np.flatnonzero(frame.index.isin(x_val.index)),
                                       np.flatnonzero(~frame.index.isin(x_val.index))]]
    result = export_model(
        pipeline, check, args.out, name=spec.get("name") or (args.data.stem if args.data else "model"),
        description=spec.get("description"),
        target=target, required=spec.get("required", []), constraints=spec.get("constraints"),
        unseen_categories=spec.get("unseenCategories", "reject"), decision=spec.get("decision"), metrics=metrics,
        reasons=spec.get("reasons"), positive_class=positive, reference=reference, reference_info=reference_info,
        shap_output=spec.get("shapOutput"),
        settings={"positive_class": "model.positiveClass", "decision": "model.decision",
                  "shap_output": "model.shapOutput", "reference": "model.reference"},
        check_rows_min=args.check_rows, seed=args.seed, baseline_rows=x_val,
        card_extra={"model": {"estimator": args.estimator, "class": type(estimator).__name__,
                              "params": {**DEFAULT_PARAMS.get(args.estimator, {}), **args.params,
                                         "random_state": args.seed}},
                    "training_data": {**source, "rows": int(len(frame))}, "libraries": library_versions(),
                    "plot": "shap_importance.svg", **({"fairness": fairness} if fairness else {})})
    proof = result.proof
    if "reference" in result.card:
        progress(f"SHAP values measured against {result.card['reference']['description']}")
    shap_note = "n/a" if proof.max_abs_shap_diff is None else f"{proof.max_abs_shap_diff:.2e}"
    progress(f"proof passed on {proof.rows} rows against {proof.oracle}: max |SHAP diff| {shap_note}, "
             f"max |prediction diff| {proof.max_abs_prediction_diff:.2e}, "
             f"max additivity error {proof.max_additivity_error:.2e}")
    out: Path = args.out
    (out / "metrics.json").write_bytes(canonical_json({**metrics, **({"fairness": fairness} if fairness else {})}))
    # Which rows were held out, so that anyone can reproduce the metrics (and pipe diff can score them).
    held_out = np.sort(np.flatnonzero(frame.index.isin(x_val.index)))
    (out / "validation_index.csv").write_text("row\n" + "".join(f"{i}\n" for i in held_out.tolist()))
    if not args.data:
        # The built-in example's data exists only here: its held-out rows, for pipe diff and pipe score.
        frame.iloc[held_out].to_csv(out / "example_validation.csv", index=False)
    joblib.dump(pipeline, out / "model.joblib")
    write_plot(out / "shap_importance.svg", mean_abs_shap(proof), features, proof.rows, result.card,
               output_meaning(result.document, target))
    progress(f"wrote model.json (sha256 {result.model_sha256[:12]}), model_card.json, metrics.json, "
             f"validation_index.csv, shap_importance.svg, model.joblib to {out}")


def main(argv: list[str]) -> int:
    try:
        build(parse_args(argv))
    except (DataError, UsageError, ExportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ProofError as err:
        print(f"error: the function's explainer failed its build-time proof: {err}", file=sys.stderr)
        return 1
    except fairness_report.FairnessGateError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
