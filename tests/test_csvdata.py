"""CSV reading, feature columns (csvdata, csvcolumns) and target labelling, against numpy and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close

from jnnbasics.csvcolumns import impute_mean, load_csv, select_columns
from jnnbasics.csvdata import (
    MAX_INFERRED_CLASSES,
    encode_labels,
    feature_matrix,
    make_labels,
    read_table,
)


def write(tmp_path, text, name="data.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# ---------------------------------------------------------------------------------------------
# read_table / load_csv
# ---------------------------------------------------------------------------------------------
def test_load_csv_matches_numpy_loadtxt(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(25, 3))
    labels = rng.choice(["setosa", "virginica", "versicolor"], size=25)
    lines = ["f1,f2,species,f3"] + [
        f"{float(a)!r},{float(b)!r},{s},{float(c)!r}" for (a, b, c), s in zip(x, labels)
    ]
    path = write(tmp_path, "\n".join(lines) + "\n")
    got, raw, names, rows = load_csv(path, "species")
    oracle = np.loadtxt(path, delimiter=",", skiprows=1, usecols=(0, 1, 3))
    assert names == ("f1", "f2", "f3")
    assert_close(got, oracle, np.float64)
    assert raw == list(labels)
    assert rows == tuple(range(2, 27))


def test_blank_lines_bom_and_spaces(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes("\ufeffa, b ,y\n\n 1 , 2 ,cat\n\n3,4,dog\n".encode())
    table = read_table(path)
    assert table.columns == ("a", "b", "y")
    assert table.rows == (("1", "2", "cat"), ("3", "4", "dog"))
    assert table.lines == (3, 5)
    assert_close(feature_matrix(table, ["b", "a"]), np.array([[2.0, 1.0], [4.0, 3.0]]), np.float64)


def test_quoted_fields_with_commas(tmp_path):
    path = write(tmp_path, 'x,name\n1.5,"Smith, J"\n2.5,"Doe, A"\n')
    x, raw, names, _ = load_csv(path, "name")
    assert raw == ["Smith, J", "Doe, A"]
    assert_close(x[:, 0], np.array([1.5, 2.5]), np.float64)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "is empty"),
        ("\n\n", "is empty"),
        ("a,b,y\n", "no data rows"),
        ("a,b,y\n1,2,3\n4,5\n", "line 3 has 2 field(s) but the header has 3"),
        ("a,b,y\n1,2,3\n\n4,5,6,7\n", "line 4 has 4 field(s)"),
        ("a,,y\n1,2,3\n", "column 2 of the header has no name"),
        ("a,a,y\n1,2,3\n", "repeats the column name(s) a"),
    ],
)
def test_read_table_errors(tmp_path, text, fragment):
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=_re(fragment)):
        read_table(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(ValueError, match="is a folder"):
        read_table(tmp_path)


def test_missing_target_lists_columns(tmp_path):
    path = write(tmp_path, "a,b,label\n1,2,x\n")
    with pytest.raises(ValueError, match="has no target column 'lbl'; its columns are: a, b, label"):
        load_csv(path, "lbl")


@pytest.mark.parametrize(
    "cell, fragment",
    [("oops", "holds 'oops'"), ("", "is empty"), ("nan", "holds 'nan'"), ("inf", "holds 'inf'")],
)
def test_non_numeric_feature_names_column_and_line(tmp_path, cell, fragment):
    path = write(tmp_path, f"a,b,label\n1,2,x\n\n3,{cell},y\n")
    with pytest.raises(
        ValueError, match=f"feature column 'b' must hold finite numbers, but line 4 {fragment}"
    ):
        load_csv(path, "label")


def test_only_a_target_column(tmp_path):
    path = write(tmp_path, "label\nx\ny\n")
    with pytest.raises(ValueError, match="no feature columns"):
        load_csv(path, "label")


def test_feature_matrix_missing_feature(tmp_path):
    table = read_table(write(tmp_path, "a,b\n1,2\n"))
    with pytest.raises(ValueError, match="has no feature column 'c'; its columns are: a, b"):
        feature_matrix(table, ["a", "c"])


# ---------------------------------------------------------------------------------------------
# make_labels / encode_labels
# ---------------------------------------------------------------------------------------------
def test_class_names_are_label_encoded_like_sklearn():
    from sklearn.preprocessing import LabelEncoder

    raw = ["virginica", "setosa", "versicolor", "setosa", "virginica"]
    labels = make_labels(raw)
    enc = LabelEncoder().fit(raw)
    assert labels.task == "multiclass"
    assert labels.class_names == tuple(enc.classes_)
    np.testing.assert_array_equal(labels.y, enc.transform(raw))
    assert labels.y.dtype == np.int32


def test_numeric_classes_sorted_by_value():
    from sklearn.preprocessing import LabelEncoder

    raw = ["10", "2", "2", "10", "-1"]
    labels = make_labels(raw)
    values = [int(v) for v in raw]
    enc = LabelEncoder().fit(values)
    assert labels.class_names == tuple(str(c) for c in enc.classes_)  # -1, 2, 10 (not "10" < "2")
    np.testing.assert_array_equal(labels.y, enc.transform(values))


@pytest.mark.parametrize(
    "raw, task",
    [
        (["0", "1", "1", "0"], "binary"),
        (["cat", "dog", "cat"], "binary"),
        (["1", "2", "3", "2"], "multiclass"),
        (["0.5", "1.25", "3"], "regression"),
        ([str(i) for i in range(MAX_INFERRED_CLASSES + 1)], "regression"),
        ([0.0, 1.0, 1.0], "binary"),
    ],
)
def test_task_inference(raw, task):
    assert make_labels(raw).task == task


def test_regression_targets_are_the_numbers():
    labels = make_labels(["0.5", "1e3", "-2"])
    assert labels.class_names is None
    assert_close(labels.y, np.array([0.5, 1000.0, -2.0]), np.float64)


def test_explicit_tasks():
    assert make_labels(["1", "2", "1"], "multiclass").class_names == ("1", "2")
    assert make_labels(["1", "2", "3"], "regression").task == "regression"


@pytest.mark.parametrize(
    "raw, task, fragment",
    [
        (["x", "x", "x"], None, "single class 'x'"),
        (["1", "1"], "binary", "single class '1'"),
        (["a", "b", "c"], "binary", "exactly 2 classes, the target has 3"),
        (["1.5", "a"], "regression", "numeric target, but line 9 holds 'a'"),
        (["0.5", "1"], "binary", "non-integer value '0.5' in line 8"),
        (["a", "", "b"], None, "the target value in line 9 is empty, a missing value"),
        ([], None, "empty"),
        (["a", "b"], "ranking", "task must be one of"),
    ],
)
def test_make_labels_errors(raw, task, fragment):
    with pytest.raises(ValueError, match=_re(fragment)):
        make_labels(raw, task, lines=range(8, 8 + len(raw)))


# ---------------------------------------------------------------------------------------------
# missing values and float32 overflow (issue 9)
# ---------------------------------------------------------------------------------------------
def regression_rows(n: int = 40) -> list[str]:
    """A regression table's lines (header first): two features, a non-integer target."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 2))
    y = x @ np.array([1.5, -2.0]) + 0.1 * rng.normal(size=n)
    return ["a,b,y"] + [f"{float(p)!r},{float(q)!r},{float(t)!r}" for (p, q), t in zip(x, y)]


@pytest.mark.parametrize("marker", ["nan", "NA", "?", "", "N/A", "null", "None"])
def test_a_missing_regression_target_is_an_error_naming_the_line(tmp_path, marker):
    """Once trained as a 40-class problem: the missing marker became a class name."""
    lines = regression_rows()
    lines[5] = lines[5].rsplit(",", 1)[0] + "," + marker
    x, raw, _, rows = load_csv(write(tmp_path, "\n".join(lines) + "\n"), "y")
    what = "is empty" if not marker else f"is {marker!r}"
    with pytest.raises(ValueError, match=_re(f"the target value in line 6 {what}, a missing value")):
        make_labels(raw, lines=rows)
    with pytest.raises(ValueError, match="line 6"):
        make_labels(raw, "regression", lines=rows)


def test_a_missing_class_name_is_not_a_class(tmp_path):
    with pytest.raises(ValueError, match=_re("the target value in line 3 is 'NA', a missing value")):
        make_labels(["cat", "NA", "dog"], lines=[2, 3, 4])
    with pytest.raises(ValueError, match=_re("the target value in data row 2 is missing ('?')")):
        encode_labels(["cat", "?"], ("cat", "dog"))


@pytest.mark.parametrize(
    "cell, fragment",
    [
        ("1e39", "line 3 holds '1e39', which overflows float32"),
        ("-4e38", "line 3 holds '-4e38', which overflows float32"),
        ("NA", "line 3 holds 'NA' (a missing value); fill it in, fill such cells with the column's mean"),
    ],
)
def test_a_feature_beyond_float32_names_column_and_line(tmp_path, cell, fragment):
    path = write(tmp_path, f"a,b,label\n1,2,x\n5,{cell},y\n6,7,x\n")
    with pytest.raises(ValueError, match=_re(f"feature column 'b' must hold finite numbers, but {fragment}")):
        load_csv(path, "label")


def test_float32_limit_is_numpys():
    """3.4e38 fits float32 (accepted), 3.5e38 does not (refused) — the oracle is numpy's cast."""
    with np.errstate(over="ignore"):
        assert np.isfinite(np.float32(3.4e38)) and not np.isfinite(np.float32(3.5e38))
    assert make_labels(["3.4e38", "1.5", "0.5"]).task == "regression"
    with pytest.raises(
        ValueError, match=_re("the target in data row 1 holds '3.5e38', which overflows float32")
    ):
        make_labels(["3.5e38", "1.5", "0.5"])


@pytest.mark.parametrize("cell", ["inf", "-Infinity", "NAN"])
def test_a_non_finite_target_is_an_error(cell):
    with pytest.raises(
        ValueError, match=_re(f"the target in line 3 holds {cell!r}, which is not a finite number")
    ):
        make_labels(["1.5", cell, "2.5"], lines=[2, 3, 4])


def test_drop_missing_drops_rows_and_says_which(tmp_path):
    lines = regression_rows(10)
    lines[3] = lines[3].rsplit(",", 1)[0] + ",NA"  # file line 4: target missing
    lines[7] = "?," + lines[7].split(",", 1)[1]  # file line 8: feature missing
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.warns(
        UserWarning, match=_re("dropped 2 row(s) with a missing value (line(s) 4, 8); 8 row(s) remain")
    ):
        x, raw, _, rows = load_csv(path, "y", drop_missing=True)
    oracle = np.loadtxt(path, delimiter=",", skiprows=1, dtype=str)
    keep = [i for i in range(10) if i not in (2, 6)]
    assert rows == tuple(i + 2 for i in keep)
    assert_close(x, oracle[keep, :2].astype(np.float64), np.float64)
    assert raw == list(oracle[keep, 2])
    path = write(tmp_path, "a,y\nNA,1\n2,?\n", "all.csv")
    with pytest.raises(ValueError, match="every data row has a missing value"):
        load_csv(path, "y", drop_missing=True)


def test_encode_labels_with_a_runs_classes():
    np.testing.assert_array_equal(encode_labels(["b", "a", "b"], ("a", "b")), [1, 0, 1])
    np.testing.assert_array_equal(encode_labels(["1.0", "0"], ("0", "1")), [1, 0])
    with pytest.raises(
        ValueError, match="target value 'c' in data row 2 is not one of the run's classes: a, b"
    ):
        encode_labels(["a", "c"], ("a", "b"))


def _re(fragment: str) -> str:
    import re

    return re.escape(fragment)


# ---------------------------------------------------------------------------------------------
# choosing columns, one-hot text columns, --impute mean
# ---------------------------------------------------------------------------------------------
def test_select_columns_order_ignore_and_errors(tmp_path):
    table = read_table(write(tmp_path, "id,a,b,y\nr1,1,2,x\nr2,3,4,z\n"))
    assert select_columns(table, "y") == ("id", "a", "b")
    assert select_columns(table, "y", features=["b", "a"]) == ("b", "a")
    assert select_columns(table, "y", ignore=["id"]) == ("a", "b")
    with pytest.raises(ValueError, match="--features: .* has no column 'c'; its columns are: id, a, b, y"):
        select_columns(table, "y", features=["a", "c"])
    with pytest.raises(ValueError, match="target column 'y' cannot be a feature"):
        select_columns(table, "y", features=["a", "y"])
    with pytest.raises(ValueError, match="either --features or --ignore"):
        select_columns(table, "y", features=["a"], ignore=["id"])


def test_text_columns_are_one_hot_like_sklearn(tmp_path):
    from sklearn.preprocessing import OneHotEncoder

    colors = ["red", "blue", "red", "green", "blue"]
    text = "a,color,y\n" + "".join(f"{i},{c},{i % 2}\n" for i, c in enumerate(colors))
    x, _, names, _ = load_csv(write(tmp_path, text), "y")
    enc = OneHotEncoder().fit(np.array(colors).reshape(-1, 1))
    want = enc.transform(np.array(colors).reshape(-1, 1)).toarray()
    assert names == ("a", *(f"color={c}" for c in enc.categories_[0]))
    assert_close(x[:, 1:], want, np.float64)
    assert_close(x[:, 0], np.arange(5.0), np.float64)
    # a later file: the trained run's names fix the categories; an unseen one is an error
    later = read_table(write(tmp_path, "color,a\nblue,7\n", name="later.csv"))
    assert_close(feature_matrix(later, names), np.array([[7.0, 1.0, 0.0, 0.0]]), np.float64)
    unseen = read_table(write(tmp_path, "color,a\nblue,7\npink,8\n", name="unseen.csv"))
    with pytest.raises(
        ValueError, match="column 'color' line 3 holds 'pink'.*categories are: blue, green, red"
    ):
        feature_matrix(unseen, names)


def test_a_mixed_column_is_still_an_error_and_an_id_column_warns(tmp_path):
    with pytest.raises(
        ValueError, match="feature column 'b' must hold finite numbers, but line 3 holds 'oops'"
    ):
        load_csv(write(tmp_path, "b,y\n2,x\noops,z\n"), "y")
    text = "id,y\n" + "".join(f"r{i},{i % 2}\n" for i in range(30))
    with pytest.warns(UserWarning, match="text column 'id' has 30 distinct values in 30 rows"):
        load_csv(write(tmp_path, text, name="ids.csv"), "y")


def test_impute_mean_against_numpy(tmp_path):
    a = [1.5, None, 4.0, None, -2.0]
    text = "a,c,y\n" + "".join(f"{'' if v is None else v},{i},{i % 2}\n" for i, v in enumerate(a))
    with pytest.warns(UserWarning, match="filled 2 missing cell"):
        x, _, names, _ = load_csv(write(tmp_path, text), "y", impute="mean")
    arr = np.array([np.nan if v is None else v for v in a])
    assert_close(x[:, 0], np.where(np.isnan(arr), np.nanmean(arr), arr), np.float64)
    table = read_table(write(tmp_path, "a,y\n,1\nNA,0\n", name="empty.csv"))
    with pytest.raises(ValueError, match="column 'a' has no value to take the mean of"):
        impute_mean(table, ["a"])
    with pytest.raises(ValueError, match="either --drop-missing or --impute"):
        load_csv(write(tmp_path, text), "y", impute="mean", drop_missing=True)


def test_drop_missing_ignores_the_columns_that_are_not_features(tmp_path):
    text = "note,a,y\n,1,0\nx,2,1\n,3,0\n"
    x, _, names, lines = load_csv(write(tmp_path, text), "y", ignore=["note"], drop_missing=True)
    assert names == ("a",) and lines == (2, 3, 4)
