"""CSV reading and target labelling for the command line, against numpy's and scikit-learn's readers."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close

from jnnbasics.csvdata import (
    MAX_INFERRED_CLASSES,
    encode_labels,
    feature_matrix,
    load_csv,
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
        (["a", "", "b"], None, "missing in line 9"),
        ([], None, "empty"),
        (["a", "b"], "ranking", "task must be one of"),
    ],
)
def test_make_labels_errors(raw, task, fragment):
    with pytest.raises(ValueError, match=_re(fragment)):
        make_labels(raw, task, lines=range(8, 8 + len(raw)))


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
