"""Tables shaped like the ones users bring: labels that are words, prices in the hundreds of thousands,
dozens of categorical columns, columns that are mostly empty.

* ``credit``: a German-credit-style table: the target ``Status`` is ``good`` / ``bad`` (about 30% bad),
  13 categorical columns with spelled-out levels, a ``yes``/``no`` column, a column 96% empty and a
  category column 90% empty.
* ``houses``: an Ames-style house-price table: ``SalePrice`` around 160,000 (lognormal), 79 feature
  columns (about 40 numbers, 30 categories of up to 25 levels), several almost empty (pool quality
  99.5%, misc feature 96%, alley 93% missing).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _pick(rng, levels: list[str], rows: int, weights=None) -> np.ndarray:
    p = None if weights is None else np.asarray(weights, dtype=float) / np.sum(weights)
    return rng.choice(np.array(levels, dtype=object), rows, p=p)


def _holes(rng, values: np.ndarray, share: float) -> np.ndarray:
    values = values.astype(object if values.dtype == object else float)
    values[rng.random(values.size) < share] = None if values.dtype == object else np.nan
    return values


def credit(rows: int = 1000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    checking = _pick(rng, ["< 0 DM", "0 <= ... < 200 DM", ">= 200 DM", "no checking account"], rows, [27, 27, 6, 40])
    history = _pick(rng, ["no credits taken", "all credits paid back duly", "existing credits paid back duly",
                          "delay in paying off in the past", "critical account / other credits existing"], rows,
                    [4, 5, 53, 9, 29])
    purpose = _pick(rng, ["car (new)", "car (used)", "furniture/equipment", "radio/television", "domestic appliances",
                          "repairs", "education", "retraining", "business", "others"], rows,
                    [23, 10, 18, 28, 1, 2, 5, 1, 10, 2])
    savings = _holes(rng, _pick(rng, ["< 100 DM", "100 <= ... < 500 DM", "500 <= ... < 1000 DM", ">= 1000 DM"], rows,
                                [60, 10, 6, 5]), 0.18)
    employment = _pick(rng, ["unemployed", "< 1 year", "1 <= ... < 4 years", "4 <= ... < 7 years", ">= 7 years"], rows,
                       [6, 17, 34, 17, 26])
    personal = _pick(rng, ["male : divorced/separated", "female : divorced/separated/married", "male : single",
                           "male : married/widowed"], rows, [5, 31, 55, 9])
    debtors = _pick(rng, ["none", "co-applicant", "guarantor"], rows, [91, 4, 5])
    property_ = _pick(rng, ["real estate", "building society savings / life insurance", "car or other",
                            "unknown / no property"], rows, [28, 23, 33, 16])
    plans = _pick(rng, ["bank", "stores", "none"], rows, [14, 5, 81])
    housing = _pick(rng, ["rent", "own", "for free"], rows, [18, 71, 11])
    job = _pick(rng, ["unskilled - non-resident", "unskilled - resident", "skilled employee / official",
                      "management / self-employed / highly qualified"], rows, [2, 20, 63, 15])
    telephone = _pick(rng, ["none", "yes, registered under the customer's name"], rows, [60, 40])
    foreign = _pick(rng, ["yes", "no"], rows, [96, 4])
    duration = rng.choice([6, 9, 12, 15, 18, 24, 30, 36, 48, 60], rows)
    amount = np.round(np.exp(rng.normal(7.8, 0.75, rows)) * (1 + duration / 60), 0)
    age = np.clip(np.round(rng.gamma(6, 6, rows) + 18), 19, 75)
    rate = rng.integers(1, 5, rows)
    notes = _holes(rng, np.round(rng.uniform(0, 10, rows), 1), 0.96)
    referral = _holes(rng, _pick(rng, ["branch", "online", "broker", "partner bank"], rows), 0.90)
    risk = (-1.2 + 1.1 * (checking == "< 0 DM") + 0.6 * (checking == "0 <= ... < 200 DM")
            - 0.9 * (checking == "no checking account") + 0.9 * (history == "no credits taken")
            + 0.7 * (history == "all credits paid back duly") - 0.6 * (history == "critical account / other credits existing")
            + 0.025 * (duration - 20) + 0.00008 * (amount - 3000) - 0.02 * (age - 35)
            + 0.5 * (savings == "< 100 DM") + 0.4 * (purpose == "education") - 0.4 * (purpose == "car (used)")
            + 0.3 * (housing == "rent") + 0.4 * (employment == "unemployed") + 0.1 * rate)
    status = np.where(rng.random(rows) < 1 / (1 + np.exp(-risk)), "bad", "good")
    return pd.DataFrame({
        "Application No.": np.arange(100001, 100001 + rows), "Checking account": checking,
        "Duration (months)": duration, "Credit history": history, "Purpose": purpose, "Credit amount (DM)": amount,
        "Savings": savings, "Employment since": employment, "Installment rate (% of income)": rate,
        "Personal status & sex": personal, "Other debtors / guarantors": debtors, "Property": property_,
        "Age (years)": age, "Other installment plans": plans, "Housing": housing, "Job": job,
        "Telephone": telephone, "Foreign worker": foreign, "Records": _pick(rng, ["yes", "no"], rows, [15, 85]),
        "Bureau notes score": notes, "Referral channel": referral, "Status": status,
    })


NEIGHBORHOODS = ["NAmes", "CollgCr", "OldTown", "Edwards", "Somerst", "NridgHt", "Gilbert", "Sawyer", "NWAmes",
                 "SawyerW", "Mitchel", "BrkSide", "Crawfor", "IDOTRR", "Timber", "NoRidge", "StoneBr", "SWISU",
                 "ClearCr", "MeadowV", "BrDale", "Blmngtn", "Veenker", "NPkVill", "Blueste"]
QUALITY = ["Po", "Fa", "TA", "Gd", "Ex"]


def houses(rows: int = 2930, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    hood = _pick(rng, NEIGHBORHOODS, rows, np.linspace(3, 0.2, len(NEIGHBORHOODS)))
    premium = {h: v for h, v in zip(NEIGHBORHOODS, rng.normal(0, 0.18, len(NEIGHBORHOODS)))}
    quality = np.clip(np.round(rng.normal(6, 1.4, rows)), 1, 10)
    living = np.round(np.exp(rng.normal(7.26, 0.33, rows)))
    built = np.clip(np.round(2010 - rng.gamma(2.2, 16, rows)), 1872, 2010)
    lot = np.round(np.exp(rng.normal(9.1, 0.5, rows)))
    columns: dict[str, np.ndarray] = {
        "Order": np.arange(1, rows + 1), "MS SubClass": rng.choice([20, 30, 50, 60, 70, 80, 90, 120, 160, 190], rows),
        "MS Zoning": _pick(rng, ["RL", "RM", "FV", "RH", "C (all)"], rows, [78, 16, 5, 1, 1]),
        "Lot Frontage": _holes(rng, np.round(rng.normal(69, 22, rows).clip(21, 313)), 0.17),
        "Lot Area": lot, "Street": _pick(rng, ["Pave", "Grvl"], rows, [99.6, 0.4]),
        "Alley": _holes(rng, _pick(rng, ["Grvl", "Pave"], rows), 0.93),
        "Lot Shape": _pick(rng, ["Reg", "IR1", "IR2", "IR3"], rows, [63, 33, 3, 1]),
        "Land Contour": _pick(rng, ["Lvl", "HLS", "Bnk", "Low"], rows, [90, 4, 4, 2]),
        "Lot Config": _pick(rng, ["Inside", "Corner", "CulDSac", "FR2", "FR3"], rows, [73, 17, 6, 3, 1]),
        "Neighborhood": hood, "Condition 1": _pick(rng, ["Norm", "Feedr", "Artery", "RRAn", "PosN"], rows,
                                                   [86, 6, 3, 2, 3]),
        "Bldg Type": _pick(rng, ["1Fam", "TwnhsE", "Duplex", "Twnhs", "2fmCon"], rows, [83, 8, 4, 3, 2]),
        "House Style": _pick(rng, ["1Story", "2Story", "1.5Fin", "SLvl", "SFoyer"], rows, [50, 30, 11, 5, 4]),
        "Overall Qual": quality, "Overall Cond": np.clip(np.round(rng.normal(5.6, 1.1, rows)), 1, 9),
        "Year Built": built, "Year Remod/Add": np.maximum(built, np.clip(np.round(2010 - rng.gamma(1.5, 15, rows)),
                                                                          1950, 2010)),
        "Roof Style": _pick(rng, ["Gable", "Hip", "Gambrel", "Flat"], rows, [79, 19, 1, 1]),
        "Exterior 1st": _pick(rng, ["VinylSd", "MetalSd", "HdBoard", "Wd Sdng", "Plywood", "CemntBd", "BrkFace"],
                              rows, [35, 15, 15, 14, 8, 8, 5]),
        "Mas Vnr Type": _holes(rng, _pick(rng, ["BrkFace", "Stone", "BrkCmn"], rows, [30, 9, 1]), 0.6),
        "Mas Vnr Area": np.round(np.where(rng.random(rows) < 0.6, 0, rng.gamma(2, 80, rows))),
        "Exter Qual": _pick(rng, QUALITY[1:], rows, [1, 61, 34, 4]), "Exter Cond": _pick(rng, QUALITY, rows,
                                                                                        [0.1, 2, 87, 10, 0.9]),
        "Foundation": _pick(rng, ["PConc", "CBlock", "BrkTil", "Slab", "Stone"], rows, [45, 42, 11, 1.5, 0.5]),
        "Bsmt Qual": _holes(rng, _pick(rng, QUALITY[1:], rows, [3, 44, 42, 11]), 0.03),
        "Bsmt Exposure": _holes(rng, _pick(rng, ["No", "Av", "Gd", "Mn"], rows, [67, 14, 10, 9]), 0.03),
        "BsmtFin SF 1": np.round(np.where(rng.random(rows) < 0.3, 0, rng.gamma(2, 250, rows))),
        "Total Bsmt SF": _holes(rng, np.round(living * rng.uniform(0.4, 1.0, rows)), 0.01),
        "Heating QC": _pick(rng, QUALITY, rows, [0.1, 3, 29, 16, 51.9]),
        "Central Air": _pick(rng, ["Y", "N"], rows, [93, 7]),
        "Electrical": _holes(rng, _pick(rng, ["SBrkr", "FuseA", "FuseF", "FuseP"], rows, [91, 6, 2, 1]), 0.001),
        "1st Flr SF": np.round(living * rng.uniform(0.5, 1.0, rows)), "Gr Liv Area": living,
        "Bsmt Full Bath": _holes(rng, rng.choice([0, 1, 2], rows, p=[0.58, 0.41, 0.01]).astype(float), 0.001),
        "Full Bath": rng.choice([1, 2, 3], rows, p=[0.45, 0.52, 0.03]),
        "Half Bath": rng.choice([0, 1, 2], rows, p=[0.63, 0.36, 0.01]),
        "Bedroom AbvGr": rng.choice([1, 2, 3, 4, 5], rows, p=[0.04, 0.25, 0.54, 0.14, 0.03]),
        "Kitchen Qual": _pick(rng, QUALITY[1:], rows, [2, 51, 39, 8]),
        "TotRms AbvGrd": np.clip(np.round(living / 230 + rng.normal(0, 1, rows)), 2, 14),
        "Functional": _pick(rng, ["Typ", "Min2", "Min1", "Mod", "Maj1"], rows, [93, 2.5, 2.5, 1.5, 0.5]),
        "Fireplaces": rng.choice([0, 1, 2], rows, p=[0.49, 0.43, 0.08]),
        "Fireplace Qu": _holes(rng, _pick(rng, QUALITY, rows, [2, 3, 40, 50, 5]), 0.49),
        "Garage Type": _holes(rng, _pick(rng, ["Attchd", "Detchd", "BuiltIn", "Basment", "CarPort"], rows,
                                         [62, 28, 7, 2, 1]), 0.054),
        "Garage Yr Blt": _holes(rng, np.clip(built + rng.integers(0, 10, rows), 1895, 2010).astype(float), 0.054),
        "Garage Finish": _holes(rng, _pick(rng, ["Unf", "RFn", "Fin"], rows, [44, 29, 27]), 0.054),
        "Garage Cars": rng.choice([0, 1, 2, 3, 4], rows, p=[0.05, 0.27, 0.55, 0.12, 0.01]),
        "Garage Area": np.round(rng.normal(470, 200, rows).clip(0, 1500)),
        "Paved Drive": _pick(rng, ["Y", "N", "P"], rows, [90, 8, 2]),
        "Wood Deck SF": np.round(np.where(rng.random(rows) < 0.52, 0, rng.gamma(2, 90, rows))),
        "Open Porch SF": np.round(np.where(rng.random(rows) < 0.44, 0, rng.gamma(2, 35, rows))),
        "Enclosed Porch": np.round(np.where(rng.random(rows) < 0.84, 0, rng.gamma(2, 50, rows))),
        "Screen Porch": np.round(np.where(rng.random(rows) < 0.91, 0, rng.gamma(3, 50, rows))),
        "Pool Area": np.where(rng.random(rows) < 0.995, 0, np.round(rng.uniform(300, 800, rows))),
        "Pool QC": _holes(rng, _pick(rng, ["Ex", "Gd", "TA", "Fa"], rows), 0.995),
        "Fence": _holes(rng, _pick(rng, ["MnPrv", "GdPrv", "GdWo", "MnWw"], rows, [58, 20, 19, 3]), 0.80),
        "Misc Feature": _holes(rng, _pick(rng, ["Shed", "Gar2", "Othr"], rows, [90, 5, 5]), 0.96),
        "Misc Val": np.where(rng.random(rows) < 0.96, 0, np.round(rng.gamma(1.5, 800, rows))),
        "Mo Sold": rng.integers(1, 13, rows), "Yr Sold": rng.choice([2006, 2007, 2008, 2009, 2010], rows),
        "Sale Type": _pick(rng, ["WD ", "New", "COD", "ConLD", "CWD"], rows, [86, 8, 3, 2, 1]),
        "Sale Condition": _pick(rng, ["Normal", "Partial", "Abnorml", "Family", "Alloca", "AdjLand"], rows,
                                [82, 8, 7, 1.5, 1, 0.5]),
    }
    for extra in ("Bsmt Unf SF", "2nd Flr SF", "Low Qual Fin SF", "BsmtFin SF 2", "3Ssn Porch", "Kitchen AbvGr",
                  "Bsmt Half Bath"):
        columns[extra] = np.round(np.where(rng.random(rows) < 0.5, 0, rng.gamma(2, 100, rows)))
    for extra in ("Condition 2", "Roof Matl", "Exterior 2nd", "Bsmt Cond", "BsmtFin Type 1", "BsmtFin Type 2",
                  "Heating", "Garage Qual", "Garage Cond", "Utilities", "Land Slope"):
        columns[extra] = _pick(rng, ["A", "B", "C", "D"], rows, [70, 20, 8, 2])
    log_price = (12.0 + 0.11 * (quality - 6) + 0.45 * (np.log(living) - 7.26) + 0.003 * (built - 1975)
                 + 0.05 * (np.log(lot) - 9.1) + np.array([premium[h] for h in hood])
                 + 0.06 * (columns["Garage Cars"] - 2) + 0.08 * (columns["Kitchen Qual"] == "Ex")
                 + rng.normal(0, 0.09, rows))
    columns["SalePrice"] = np.round(np.exp(log_price), -2)
    return pd.DataFrame(columns)
