"""The generic CSV loader: names kept as written, types inferred, the task read off the target, clear errors."""

import numpy as np
import pandas as pd
import pytest

from tabular_data import DataError, infer_task, read_table

LOANS = (
    'id,"loan purpose","income / month",years-employed,home owner,label\n'
    "1,car,2500.5,3,true,no\n"
    "2,home,NA,10,FALSE,yes\n"
    "3,,3100,1,,no\n"
    "4,car,1912.5,7,true,yes\n"
)


def write(tmp_path, text, name="loans.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_types_are_inferred_and_names_kept(tmp_path):
    table = read_table(write(tmp_path, LOANS), "label", exclude=["id"])
    assert table.features == ["loan purpose", "income / month", "years-employed", "home owner"]
    assert table.kinds == {"loan purpose": "category", "income / month": "number", "years-employed": "number",
                           "home owner": "boolean"}
    frame = table.frame
    assert frame["loan purpose"].tolist()[:2] == ["car", "home"] and pd.isna(frame["loan purpose"][2])
    assert np.isnan(frame["income / month"][1]) and frame["income / month"][3] == 1912.5
    assert frame["home owner"].tolist()[:2] == [True, False] and pd.isna(frame["home owner"][2])
    assert frame["label"].tolist() == ["no", "yes", "no", "yes"]
    assert infer_task(frame["label"]) == "binary"


def test_listed_features_only(tmp_path):
    table = read_table(write(tmp_path, LOANS), "label", features=["years-employed", "loan purpose"])
    assert table.features == ["years-employed", "loan purpose"]


@pytest.mark.parametrize("values, task", [
    ([0, 1, 0, 1], "binary"), (["a", "b", "c", "a"], "multiclass"), ([1, 2, 3, 2], "multiclass"),
    ([0.5, 1.25, 3.0, 2.0], "regression"), (list(range(100)), "regression"),
])
def test_task_is_inferred_from_the_target(values, task):
    series = pd.Series(values)
    if series.dtype == object:
        series = series.astype(object)
    assert infer_task(series) == task


@pytest.mark.parametrize("text, target, kwargs, expected", [
    (LOANS, "default", {}, "target column 'default' not found"),
    (LOANS.replace(",no\n", ",\n", 1), "label", {}, "line 2: target 'label' is missing"),
    (LOANS.replace(",yes\n", ",no\n"), "label", {}, "has a single value"),
    (LOANS.replace("3,,3100", "3,,NA").replace("2500.5", "NA").replace("1912.5", "NA"), "label", {},
     "feature column 'income / month' is empty"),
    (LOANS, "label", {"exclude": ["colour"]}, "column 'colour' named in the model config is not in the file"),
    (LOANS.replace("years-employed", "home owner"), "label", {}, "appears more than once"),
    ("", "label", {}, "is empty"),
    (LOANS.split("\n")[0] + "\n", "label", {}, "no data rows"),
])
def test_bad_data_names_the_problem(tmp_path, text, target, kwargs, expected):
    with pytest.raises(DataError) as err:
        read_table(write(tmp_path, text), target, **kwargs)
    assert expected in str(err.value)
