"""The reference population a model's SHAP values are measured against (model.reference).

* ``{"from": "training", "size": 200}``: a seeded sample of the training split's rows;
* ``{"from": "near-cutoff", "size": 200, "band": 0.05, "side": "negative"}``: binary models with a
  decision: training rows the model scores on ``side`` of the threshold within ``band`` of it
  ("applicants approved at or slightly above the minimum passing score", Regulation B's commentary,
  12 CFR 1002 Supp. I 9(b)(2)-5). ``negative`` (the default) is below the threshold: the negative
  decision, an approval where the positive class is the event (default, fraud, bad). When fewer rows
  qualify, the nearest ``size`` rows on that side are taken, and the card says how many were within
  the band and how far the rows reach. When none does, the rows would not be near the cutoff at all,
  and the build stops (exit 2) with the band that would reach them;
* ``{"from": "file", "file": "data/reference.csv"}``: rows the user chose (prototypes with no personal
  data, say), with every feature column; other columns are ignored.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd

from estimators import UsageError
from tabular_data import BOOLEAN_TOKENS, MISSING_TOKENS, DataError, Table

KINDS = ("training", "near-cutoff", "file")
DEFAULTS = {"size": 200, "band": 0.05, "side": "negative"}
MAX_ROWS = 5000
KEYS = {"training": {"from", "size"}, "near-cutoff": {"from", "size", "band", "side"}, "file": {"from", "file"}}


def check_setting(setting: dict) -> dict:
    """The setting with its defaults, or UsageError naming the key at fault."""
    if not isinstance(setting, dict) or setting.get("from") not in KINDS:
        raise UsageError(f"model.reference.from must be one of {', '.join(repr(k) for k in KINDS)}")
    kind = setting["from"]
    unknown = sorted(set(setting) - KEYS[kind])
    if unknown:
        raise UsageError(f"model.reference.{unknown[0]} does not apply to from: {kind!r} "
                         f"(it takes {', '.join(sorted(KEYS[kind] - {'from'}))})")
    out = {k: setting.get(k, DEFAULTS.get(k)) for k in KEYS[kind]}
    if kind != "file" and not (type(out["size"]) is int and 1 <= out["size"] <= MAX_ROWS):
        raise UsageError(f"model.reference.size must be a whole number from 1 to {MAX_ROWS}, got {out['size']!r}")
    if kind == "near-cutoff":
        if not (isinstance(out["band"], (int, float)) and 0 < out["band"] <= 1):
            raise UsageError(f"model.reference.band must be a probability distance above 0, got {out['band']!r}")
        if out["side"] not in ("negative", "positive"):
            raise UsageError("model.reference.side must be 'negative' (below the threshold) or 'positive' (at or above)")
    if kind == "file" and not isinstance(out["file"], str):
        raise UsageError("model.reference.file must be the path of a CSV file")
    return out


def training_sample(x_train: pd.DataFrame, size: int, seed: int) -> tuple[pd.DataFrame, dict]:
    take = min(size, len(x_train))
    index = np.sort(np.random.default_rng(seed).permutation(len(x_train))[:take])
    return x_train.iloc[index], {"from": "training", "size": size}


def near_cutoff(x_train: pd.DataFrame, score: np.ndarray, threshold: float, size: int, band: float, side: str,
                labels: dict, seed: int) -> tuple[pd.DataFrame, dict]:
    """Training rows scored on ``side`` of ``threshold``, within ``band`` where enough are, else the nearest."""
    below = side == "negative"
    on_side = np.nonzero(score < threshold if below else score >= threshold)[0]
    if not on_side.size:
        raise DataError(f"model.reference from 'near-cutoff': no training row is scored "
                        f"{'below' if below else 'at or above'} the threshold {threshold:g}; "
                        "choose the other side, another threshold, or from: 'training'")
    distance = np.abs(score[on_side] - threshold)
    within = on_side[distance <= band]
    if not within.size:
        nearest = np.sort(distance)
        reach = math.ceil(nearest[min(size, nearest.size) - 1] * 100) / 100
        where = "below" if below else "at or above"
        raise UsageError(
            f"model.reference from 'near-cutoff': no training row is scored within {band * 100:g} points {where} "
            f"the {threshold:.0%} cutoff (the nearest scores {score[on_side][np.argmin(distance)]:.1%}), so its "
            f"rows would not be near the cutoff at all. Set model.reference.band to {reach:g} to take the "
            f"{min(size, nearest.size)} nearest, choose side: '{'positive' if below else 'negative'}', or use "
            "from: 'training'. (A boosted model scores the rows it was trained on far from the cutoff more often "
            "than new ones.)")
    if within.size >= size:
        chosen = np.sort(np.random.default_rng(seed).permutation(within)[:size])
    else:  # the nearest rows on that side, in order of distance (ties: data order)
        chosen = np.sort(on_side[np.argsort(distance, kind="stable")[:size]])
    label = labels["negative" if below else "positive"]
    info = {"from": "near-cutoff", "size": size, "band": band, "side": side, "threshold": threshold,
            "within_band": int(within.size), "label": label}
    return x_train.iloc[chosen], info


def from_file(path: Path, table: Table, categories: dict[str, list]) -> tuple[pd.DataFrame, dict]:
    """The file's feature columns, read and typed as the training data's, checked for unseen categories."""
    try:
        text = pd.read_csv(io.BytesIO(path.read_bytes()), dtype=str, keep_default_na=False)
    except OSError as err:
        raise DataError(f"model.reference.file: cannot read {path}: {err.strerror}") from err
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"model.reference.file: {path} is not a readable CSV: {err}") from err
    missing = [f for f in table.features if f not in text.columns]
    if missing:
        raise DataError(f"model.reference.file: {path} lacks the feature column {missing[0]!r} "
                        f"(it needs every feature: {', '.join(table.features)})")
    if not 1 <= len(text) <= MAX_ROWS:
        raise DataError(f"model.reference.file: {path} has {len(text)} rows; a reference takes 1 to {MAX_ROWS}")
    columns = {}
    for name in table.features:
        values = text[name].str.strip()
        absent = values.isin(MISSING_TOKENS)
        kind = table.kinds[name]
        if kind == "number":
            numbers = pd.to_numeric(values.where(~absent), errors="coerce")
            bad = numbers.isna() & ~absent
            if bad.any() or not np.isfinite(numbers.dropna().to_numpy(dtype=float)).all():
                row = int(np.argmax(bad.to_numpy())) if bad.any() else 0
                raise DataError(f"model.reference.file: {path} line {row + 2}: {name!r} must be a number, "
                                f"got {values.iloc[row]!r}")
            columns[name] = numbers.astype(np.float64)
        elif kind == "boolean":
            lowered = values.str.lower()
            bad = ~lowered.isin(BOOLEAN_TOKENS) & ~absent
            if bad.any():
                row = int(np.argmax(bad.to_numpy()))
                raise DataError(f"model.reference.file: {path} line {row + 2}: {name!r} must be true or false, "
                                f"got {values.iloc[row]!r}")
            columns[name] = lowered.map(BOOLEAN_TOKENS).where(~absent, np.nan).astype(object)
        else:
            known = set(categories.get(name, []))
            bad = ~values.isin(known) & ~absent
            if bad.any():
                row = int(np.argmax(bad.to_numpy()))
                raise DataError(f"model.reference.file: {path} line {row + 2}: {name!r} is {values.iloc[row]!r}, "
                                f"a category the training data does not have")
            columns[name] = values.where(~absent, np.nan).astype(object)
    return pd.DataFrame(columns, columns=table.features), {"from": "file", "source": path.name}
