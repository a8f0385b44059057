"""IMDB loader (every bad input), the seeded split, the duplicate audit; a slice of real data."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from synth_data import imdb_csv_text, write_imdb_zip

from mlsplab.data.files import IMDB_ZIP, search_dirs
from mlsplab.data.imdb import (
    N_TEST,
    N_TRAIN,
    ImdbSplit,
    duplicate_audit,
    load_imdb,
    split_imdb,
    train_twin_mask,
)
from mlsplab.errors import MlsplabError


def _csv(rows: list[list[str]], header: list[str] | None = None) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header or ["review", "sentiment"])
    w.writerows(rows)
    return buf.getvalue()


def _one_line_error(path: Path, *fragments: str):
    """Context: load_imdb(path) must fail with a one-line message holding every fragment."""
    with pytest.raises(MlsplabError) as e:
        load_imdb(path)
    msg = str(e.value)
    assert "\n" not in msg, msg
    assert str(path) in msg, msg
    for f in fragments:
        assert f in msg, msg
    return msg


# ---------------------------------------------------------------- loading


def test_loads_synthetic_zip(tmp_path: Path) -> None:
    path = write_imdb_zip(tmp_path / "IMDB_Dataset.csv.zip", n_reviews=40)
    r = load_imdb(path)
    assert len(r) == 40 and r.labels.dtype == np.int64
    assert r.labels.tolist() == [1, 0] * 20  # synth_data alternates positive, negative
    assert "<br /><br />" in r.texts[0] and r.source == path


def test_header_case_order_and_bom_are_accepted(tmp_path: Path) -> None:
    text = "\ufeffSentiment,Review\npositive,Loved it\nNEGATIVE,Hated it\n"
    r = load_imdb(write_imdb_zip(tmp_path / "a.zip", csv_text=text))
    assert r.texts == ["Loved it", "Hated it"] and r.labels.tolist() == [1, 0]


def test_quoted_commas_and_newlines_in_reviews(tmp_path: Path) -> None:
    text = _csv([["Good, very good.\nReally.", "positive"], ['She said "bad"', "negative"]])
    r = load_imdb(write_imdb_zip(tmp_path / "q.zip", csv_text=text))
    assert r.texts[0] == "Good, very good.\nReally." and r.texts[1] == 'She said "bad"'


def test_missing_column(tmp_path: Path) -> None:
    path = write_imdb_zip(tmp_path / "m.zip", csv_text=_csv([["x"]], header=["review"]))
    _one_line_error(path, "missing column(s) ['sentiment']", "expected 'review,sentiment'")


def test_missing_member(tmp_path: Path) -> None:
    path = write_imdb_zip(tmp_path / "m.zip", n_reviews=4, member="other.csv")
    _one_line_error(path, "'IMDB Dataset.csv' not found")


def test_unknown_label_names_row(tmp_path: Path) -> None:
    text = _csv([["fine", "positive"], ["meh", "neutral"]])
    _one_line_error(write_imdb_zip(tmp_path / "l.zip", csv_text=text),
                    "row 3", "unknown label 'neutral'", "['negative', 'positive']")


@pytest.mark.parametrize("review", ["", "   "])
def test_empty_review_names_row(tmp_path: Path, review: str) -> None:
    text = _csv([["fine", "positive"], ["ok", "negative"], [review, "negative"]])
    _one_line_error(write_imdb_zip(tmp_path / "e.zip", csv_text=text), "row 4", "empty review")


def test_non_utf8_bytes_name_row(tmp_path: Path) -> None:
    raw = _csv([["fine", "positive"], ["caf\x00", "negative"]]).encode().replace(b"\x00", b"\xe9")
    _one_line_error(write_imdb_zip(tmp_path / "u.zip", csv_text=raw), "row 3", "not valid UTF-8")


def test_wrong_field_count_names_row(tmp_path: Path) -> None:
    text = "review,sentiment\nfine,positive\nextra,negative,oops\n"
    _one_line_error(write_imdb_zip(tmp_path / "f.zip", csv_text=text), "row 3", "3 fields")


def test_header_only_and_empty_member(tmp_path: Path) -> None:
    _one_line_error(write_imdb_zip(tmp_path / "h.zip", csv_text="review,sentiment\n"),
                    "no reviews")
    _one_line_error(write_imdb_zip(tmp_path / "z.zip", csv_text=""), "empty file")


def test_corrupt_zip(tmp_path: Path) -> None:
    path = write_imdb_zip(tmp_path / "IMDB_Dataset.csv.zip", n_reviews=100)
    path.write_bytes(path.read_bytes()[:-60])  # cut the central directory
    _one_line_error(path, "not a valid zip archive")


def test_zip_slip_and_absolute_members(tmp_path: Path) -> None:
    for name, why in (("../IMDB Dataset.csv", "path traversal"), ("/IMDB Dataset.csv",
                                                                   "absolute path")):
        path = tmp_path / f"slip{len(why)}.zip"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("IMDB Dataset.csv", imdb_csv_text(4))
            zf.writestr(name, b"review,sentiment\n")
        _one_line_error(path, why)


def test_symlink_member(tmp_path: Path) -> None:
    path = tmp_path / "link.zip"
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("IMDB Dataset.csv")
        info.external_attr = 0o120777 << 16  # S_IFLNK
        zf.writestr(info, "/etc/passwd")
    _one_line_error(path, "symlink")


# ---------------------------------------------------------------- split


def test_split_sizes_for_the_assignment_file() -> None:
    s = split_imdb(50_000, seed=0)
    assert s.sizes() == {"train": N_TRAIN, "val": 5000, "test": N_TEST} == {
        "train": 40000, "val": 5000, "test": 5000}
    together = np.concatenate([s.train, s.val, s.test])
    assert np.array_equal(np.sort(together), np.arange(50_000))  # disjoint and covering


def test_split_is_deterministic_and_seed_dependent() -> None:
    a, b, c = split_imdb(50_000, seed=3), split_imdb(50_000, seed=3), split_imdb(50_000, seed=4)
    for name in ("train", "val", "test"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.test, c.test)
    # pinned: the same seed gives the same split on every machine and numpy version we use
    assert a.test[:5].tolist() == [21, 29, 37, 40, 44]
    assert split_imdb(50_000, seed=0).val[:5].tolist() == [3, 10, 16, 20, 23]
    assert all(np.all(np.diff(getattr(a, n)) > 0) for n in ("train", "val", "test"))  # sorted


def test_split_other_sizes_use_80_10_10() -> None:
    s = split_imdb(300, seed=0)
    assert s.sizes() == {"train": 240, "val": 30, "test": 30}


@pytest.mark.parametrize(("n", "n_train", "n_test"), [(10, 9, 1), (10, 0, 2), (10, 5, 0),
                                                      (10, 8, 3)])
def test_impossible_split(n: int, n_train: int, n_test: int) -> None:
    with pytest.raises(MlsplabError, match="cannot split"):
        split_imdb(n, 0, n_train=n_train, n_test=n_test)


# ---------------------------------------------------------------- duplicate audit


def test_duplicate_audit_toy() -> None:
    texts = ["a", "b", "a", "c", "c", "a", "d", "e"]
    #         tr   tr   va   te   te   tr   va   te
    split = ImdbSplit(train=np.array([0, 1, 5]), val=np.array([2, 6]),
                      test=np.array([3, 4, 7]), seed=0)
    audit = duplicate_audit(texts, split)
    assert audit == {
        "distinct_texts": 5,
        "duplicate_rows": 3,  # the 2nd and 3rd "a", the 2nd "c"
        "duplicate_groups": 2,  # "a", "c"
        "groups_crossing_splits": 1,  # "a" (train + val); "c" stays inside test
        "eval_rows_with_train_twin": 1,  # row 2 ("a" in val)
        "val_rows_with_train_twin": 1,
        "test_rows_with_train_twin": 0,  # "c" has a twin, but inside test
    }


def test_planted_twins_are_counted_per_split_and_masked() -> None:
    """A synthetic split with twins planted across it: every count and the mask are exact."""
    texts = [f"review {i}" for i in range(40)]
    split = split_imdb(40, 3, n_train=30, n_test=5)
    tr, va, te = split.train, split.val, split.test
    texts[te[0]] = texts[tr[0]]  # test twin of a training review
    texts[te[3]] = texts[tr[7]]  # another one
    texts[va[1]] = texts[tr[2]]  # validation twin
    texts[te[4]] = texts[va[2]]  # val-test twin: not a training twin
    texts[tr[5]] = texts[tr[6]]  # twin inside train: not counted
    audit = duplicate_audit(texts, split)
    assert audit["test_rows_with_train_twin"] == 2
    assert audit["val_rows_with_train_twin"] == 1
    assert audit["eval_rows_with_train_twin"] == 3
    assert audit["duplicate_rows"] == 5 and audit["groups_crossing_splits"] == 4
    assert train_twin_mask(texts, tr, te).tolist() == [True, False, False, True, False]
    assert train_twin_mask(texts, tr, va).tolist() == [False, True, False, False, False]


def test_duplicate_audit_no_duplicates() -> None:
    split = split_imdb(10, 0, n_train=6, n_test=2)
    audit = duplicate_audit([str(i) for i in range(10)], split)
    assert audit["duplicate_rows"] == 0 and audit["groups_crossing_splits"] == 0


# ---------------------------------------------------------------- the real file


def _real_zip() -> Path:
    for d in search_dirs(None):
        if (d / IMDB_ZIP.name).is_file():
            return d / IMDB_ZIP.name
    pytest.skip(f"{IMDB_ZIP.name} not found in {search_dirs(None)}")


@pytest.mark.slow
def test_real_file_loads_and_splits() -> None:
    r = load_imdb(_real_zip())
    assert len(r) == 50_000 and set(np.unique(r.labels)) == {0, 1}
    s = split_imdb(len(r), seed=0)
    assert s.sizes() == {"train": 40000, "val": 5000, "test": 5000}
    audit = duplicate_audit(r.texts, s)
    assert audit["distinct_texts"] == 49_582  # documented in ../shared/data/README.md
    assert audit["duplicate_rows"] == 50_000 - 49_582
    # issue 12 item 5: with seed 0, 74 test and 55 validation rows have a twin in training
    assert audit["test_rows_with_train_twin"] == 74
    assert audit["val_rows_with_train_twin"] == 55
