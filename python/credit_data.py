"""The built-in example: a deterministic synthetic credit-scoring set with the "Give Me Some Credit" schema.

The frame holds the target column then FEATURES (float, NaN for missing). The real Kaggle CSV
(cs-training.csv) goes through the generic loader in tabular_data as any user's CSV does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TARGET = "SeriousDlqin2yrs"
FEATURES = [
    "RevolvingUtilizationOfUnsecuredLines",
    "age",
    "NumberOfTime30-59DaysPastDueNotWorse",
    "DebtRatio",
    "MonthlyIncome",
    "NumberOfOpenCreditLinesAndLoans",
    "NumberOfTimes90DaysLate",
    "NumberRealEstateLoansOrLines",
    "NumberOfTime60-89DaysPastDueNotWorse",
    "NumberOfDependents",
]


def synthetic_credit_data(rows: int, seed: int) -> pd.DataFrame:
    """Give-Me-Some-Credit-like data: same columns, plausible marginals, risk driven by the features.

    About 20% of MonthlyIncome and 2-3% of NumberOfDependents are missing (mostly together, as in the
    real set), and about 7% of borrowers are seriously delinquent.
    """
    rng = np.random.default_rng(seed)
    age = np.clip(np.round(rng.normal(52, 14.5, rows)), 21, 99)
    # Latent financial stress: younger borrowers with high utilisation are under more stress.
    stress = rng.normal(0, 1, rows) - 0.02 * (age - 52)
    utilization = np.clip(rng.beta(0.7, 1.6, rows) * np.exp(0.35 * stress), 0, None)
    outliers = rng.random(rows) < 0.003
    utilization[outliers] = rng.uniform(1.5, 5000, outliers.sum())
    income = np.round(np.exp(rng.normal(8.55, 0.65, rows) + 0.004 * (age - 52) - 0.12 * stress))
    dependents = np.minimum(rng.poisson(np.where((age > 28) & (age < 60), 1.0, 0.3)), 10).astype(float)
    open_lines = rng.poisson(np.clip(8.5 + 0.6 * stress + 0.03 * (age - 52), 1, None))
    real_estate = np.minimum(rng.poisson(np.clip(1.0 + income / 20000, 0.2, 3)), 20)
    debt_ratio = np.round(rng.gamma(2.0, 0.18, rows) * np.exp(0.25 * stress) + real_estate * 0.05, 6)
    past_due_rate = np.exp(-2.0 + 0.9 * stress)
    late_30 = rng.poisson(past_due_rate)
    late_60 = rng.poisson(0.35 * past_due_rate)
    late_90 = rng.poisson(0.3 * past_due_rate)

    logit = (
        -3.9
        + 1.6 * np.minimum(utilization, 1.2)
        + 0.55 * np.minimum(late_30, 6)
        + 0.75 * np.minimum(late_60, 6)
        + 0.95 * np.minimum(late_90, 6)
        - 0.018 * (age - 52)
        - 0.25 * np.log(np.maximum(income, 1) / 5000)
        + 0.3 * np.minimum(debt_ratio, 3)
        + 0.06 * dependents
        - 0.03 * (open_lines - 8)
    )
    target = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)

    income_missing = rng.random(rows) < 0.2
    # Without an income the bureau reports DebtRatio as monthly debt in dollars (a quirk of the real set).
    debt_ratio = np.where(income_missing, np.round(rng.lognormal(6.5, 1.3, rows)), debt_ratio)
    income = np.where(income_missing, np.nan, income)
    dependents_missing = (income_missing & (rng.random(rows) < 0.12)) | (rng.random(rows) < 0.003)
    dependents = np.where(dependents_missing, np.nan, dependents)

    columns = {
        "RevolvingUtilizationOfUnsecuredLines": np.round(utilization, 6),
        "age": age,
        "NumberOfTime30-59DaysPastDueNotWorse": late_30,
        "DebtRatio": debt_ratio,
        "MonthlyIncome": income,
        "NumberOfOpenCreditLinesAndLoans": open_lines,
        "NumberOfTimes90DaysLate": late_90,
        "NumberRealEstateLoansOrLines": real_estate,
        "NumberOfTime60-89DaysPastDueNotWorse": late_60,
        "NumberOfDependents": dependents,
    }
    frame = pd.DataFrame({name: np.asarray(columns[name], dtype=np.float64) for name in FEATURES})
    frame.insert(0, TARGET, target)
    return frame
