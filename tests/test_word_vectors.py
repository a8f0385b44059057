"""Word vectors: tiny Word2Vec training, the cache, pretrained formats, dimension errors."""

from __future__ import annotations

import gzip
import logging
import random
import struct
from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors
from synth_data import make_review, write_unsup_gz

from mlsplab.errors import MlsplabError
from mlsplab.features import word_vectors
from mlsplab.features.word_vectors import get_word_vectors, load_pretrained


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    write_unsup_gz(d / "aclImdb_unsup.txt.gz", n_reviews=150)
    return d


@pytest.fixture()
def train_texts() -> list[str]:
    rng = random.Random(3)
    return [make_review(rng, i % 2 == 0) for i in range(120)]


pytestmark = pytest.mark.usefixtures("isolated_data_dirs")


def _kv(dim: int, words: list[str]) -> KeyedVectors:
    kv = KeyedVectors(vector_size=dim)
    rng = np.random.default_rng(0)
    kv.add_vectors(words, rng.normal(size=(len(words), dim)).astype(np.float32))
    return kv


def test_tiny_training_uses_unsup_and_train(tmp_path: Path, data_dir: Path,
                                            train_texts: list[str]) -> None:
    gensim_level = logging.getLogger("gensim").level
    kv, info = get_word_vectors(train_texts, cache_dir=tmp_path / "cache", data_dir=data_dir,
                                quick=True, dim=16)
    assert logging.getLogger("gensim").level == gensim_level  # quietened only while training
    assert kv.vector_size == 16
    assert "great" in kv and "awful" in kv
    assert info["corpus_unsup_reviews"] == 150
    assert info["corpus_train_reviews"] == 120
    assert info["corpus_reviews"] == 270
    assert info["vocab_size"] == len(kv)
    assert info["corpus_tokens"] > 270
    assert info["cached"] is False and Path(info["cache_path"]).is_file()
    assert info["warnings"] == []
    for key in ("source", "seconds", "params"):
        assert key in info


def test_cache_is_reused_and_keyed_by_split_and_seed(tmp_path: Path, data_dir: Path,
                                                     train_texts: list[str]) -> None:
    cache = tmp_path / "cache"
    kv1, info1 = get_word_vectors(train_texts, cache_dir=cache, data_dir=data_dir, quick=True,
                                  dim=16)
    kv2, info2 = get_word_vectors(train_texts, cache_dir=cache, data_dir=data_dir, quick=True,
                                  dim=16)
    assert info2["cached"] is True and info2["cache_path"] == info1["cache_path"]
    np.testing.assert_array_equal(kv1.vectors, kv2.vectors)
    # another split (other texts) or seed -> another cache entry
    _, info3 = get_word_vectors(train_texts[:-1], cache_dir=cache, data_dir=data_dir,
                                quick=True, dim=16)
    _, info4 = get_word_vectors(train_texts, cache_dir=cache, data_dir=data_dir, quick=True,
                                dim=16, seed=1)
    assert len({info1["cache_path"], info3["cache_path"], info4["cache_path"]}) == 3
    assert info3["cached"] is False and info4["cached"] is False


@pytest.mark.parametrize("quick", [True, False])
def test_same_seed_same_vectors_without_cache(tmp_path: Path, data_dir: Path,
                                              train_texts: list[str], quick: bool) -> None:
    # one worker thread, in quick and full runs: gensim with more threads makes the vectors
    # depend on thread timing (two full runs with the same seed differed), and every Q1
    # number inherits them
    assert word_vectors.word2vec_params(quick=quick).workers == 1
    kv1, info = get_word_vectors(train_texts, cache_dir=tmp_path / "a", data_dir=data_dir,
                                 quick=quick, dim=16)
    kv2, _ = get_word_vectors(train_texts, cache_dir=tmp_path / "b", data_dir=data_dir,
                              quick=quick, dim=16)
    assert info["deterministic"] is True
    np.testing.assert_array_equal(kv1.vectors, kv2.vectors)


def test_missing_unsup_trains_on_train_only_with_warning(tmp_path: Path,
                                                         train_texts: list[str]) -> None:
    kv, info = get_word_vectors(train_texts, cache_dir=tmp_path / "cache",
                                data_dir=tmp_path / "empty", quick=True, dim=16)
    assert info["corpus_unsup_reviews"] == 0 and info["corpus_train_reviews"] == 120
    assert len(info["warnings"]) == 1 and "aclImdb_unsup.txt.gz" in info["warnings"][0]
    assert "great" in kv


def test_cache_of_wrong_dimension_is_an_error(tmp_path: Path, data_dir: Path,
                                             train_texts: list[str]) -> None:
    _, info = get_word_vectors(train_texts, cache_dir=tmp_path / "c", data_dir=data_dir,
                               quick=True, dim=16)
    with open(info["cache_path"], "wb") as f:  # someone replaced the cache with 8-d vectors
        _kv(8, ["a", "b"]).save(f)
    with pytest.raises(MlsplabError, match=r"8-d vectors, expected 16-d; delete"):
        get_word_vectors(train_texts, cache_dir=tmp_path / "c", data_dir=data_dir, quick=True,
                         dim=16)


def test_corrupt_cache_is_an_error(tmp_path: Path, data_dir: Path,
                                   train_texts: list[str]) -> None:
    _, info = get_word_vectors(train_texts, cache_dir=tmp_path / "c", data_dir=data_dir,
                               quick=True, dim=16)
    Path(info["cache_path"]).write_bytes(b"not a pickle")
    with pytest.raises(MlsplabError, match="not a readable gensim KeyedVectors file"):
        get_word_vectors(train_texts, cache_dir=tmp_path / "c", data_dir=data_dir, quick=True,
                         dim=16)


WORDS = ["good", "bad", "movie", "plot"]


@pytest.mark.parametrize("kind", ["word2vec-text", "word2vec-binary", "glove-text",
                                  "word2vec-text-gz", "gensim"])
def test_pretrained_formats(tmp_path: Path, kind: str) -> None:
    src = _kv(6, WORDS)
    if kind == "word2vec-text":
        path = tmp_path / "vectors.txt"
        src.save_word2vec_format(str(path), binary=False)
    elif kind == "word2vec-binary":
        path = tmp_path / "vectors.bin"
        src.save_word2vec_format(str(path), binary=True)
    elif kind == "word2vec-text-gz":
        path = tmp_path / "vectors.txt.gz"
        src.save_word2vec_format(str(path), binary=False)
    elif kind == "glove-text":
        path = tmp_path / "glove.6d.txt"  # GloVe: "word v1 ... vd" lines, no header
        lines = [w + " " + " ".join(f"{x:.6f}" for x in src[w]) for w in WORDS]
        path.write_text("\n".join(lines) + "\n")
    else:
        path = tmp_path / "vectors.kv"
        src.save(str(path))
    kv, info = get_word_vectors(["unused"], cache_dir=tmp_path / "cache", pretrained=path,
                                dim=6)
    assert kv.vector_size == 6 and sorted(kv.index_to_key) == sorted(WORDS)
    np.testing.assert_allclose(kv["good"], src["good"], atol=1e-5)
    assert info["vocab_size"] == 4 and info["format"] == kind.removesuffix("-gz")
    assert info["corpus_reviews"] is None and str(path) in info["source"]
    assert not (tmp_path / "cache").exists()  # nothing trained


def test_pretrained_fasttext_vec_and_bin(tmp_path: Path) -> None:
    from gensim.models import FastText
    from gensim.models.fasttext import save_facebook_model

    sentences = [s.split() for s in ["good movie", "bad movie", "good plot", "bad plot"]] * 5
    model = FastText(sentences, vector_size=6, min_count=1, epochs=1, workers=1, seed=0)
    bin_path = tmp_path / "cc.6.bin"
    save_facebook_model(model, str(bin_path))
    kv, info = get_word_vectors([], cache_dir=tmp_path, pretrained=bin_path, dim=6)
    assert info["format"] == "fasttext-binary" and "good" in kv
    vec_path = tmp_path / "cc.6.vec"  # fastText .vec is word2vec text with a header
    model.wv.save_word2vec_format(str(vec_path))
    kv2, info2 = get_word_vectors([], cache_dir=tmp_path, pretrained=vec_path, dim=6)
    assert info2["format"] == "word2vec-text" and kv2.vector_size == 6


@pytest.mark.parametrize("binary", [False, True])
def test_pretrained_wrong_dimension(tmp_path: Path, binary: bool) -> None:
    path = tmp_path / ("v50.bin" if binary else "v50.txt")
    _kv(50, WORDS).save_word2vec_format(str(path), binary=binary)
    with pytest.raises(MlsplabError) as e:
        get_word_vectors([], cache_dir=tmp_path, pretrained=path, dim=100)
    msg = str(e.value)
    assert str(path) in msg and "50-d vectors, expected 100-d" in msg and "\n" not in msg


def test_glove_wrong_dimension(tmp_path: Path) -> None:
    path = tmp_path / "glove.txt"
    path.write_text("good 0.1 0.2 0.3\nbad 0.3 0.2 0.1\n")
    with pytest.raises(MlsplabError, match=r"glove.txt: 3-d vectors, expected 100-d"):
        load_pretrained(path, dim=100)


@pytest.mark.parametrize("content", [b"\x00\x01\x02garbage" * 10, b"just some words\nno numbers\n",
                                     b""])
def test_pretrained_unreadable(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "vectors.txt"
    path.write_bytes(content)
    with pytest.raises(MlsplabError, match=r"vectors.txt"):
        load_pretrained(path, dim=100)


def test_pretrained_truncated_binary(tmp_path: Path) -> None:
    path = tmp_path / "v.bin"
    _kv(100, WORDS).save_word2vec_format(str(path), binary=True)
    path.write_bytes(path.read_bytes()[:-150])
    with pytest.raises(MlsplabError, match=r"v.bin: cannot read it as word2vec-binary"):
        load_pretrained(path, dim=100)


def test_pretrained_missing_and_bad_gensim(tmp_path: Path) -> None:
    with pytest.raises(MlsplabError, match="file not found"):
        load_pretrained(tmp_path / "nope.txt", dim=100)
    bad = tmp_path / "x.kv"
    bad.write_bytes(b"junk")
    with pytest.raises(MlsplabError, match="x.kv: not a readable gensim KeyedVectors"):
        load_pretrained(bad, dim=100)


def test_fasttext_magic_detected(tmp_path: Path) -> None:
    path = tmp_path / "weird.bin"
    path.write_bytes(struct.pack("<ii", word_vectors.FASTTEXT_MAGIC, 12) + b"\x00" * 8)
    with pytest.raises(MlsplabError, match="as fasttext-binary"):
        load_pretrained(path, dim=100)


def test_gz_unsup_corrupt_is_an_error(tmp_path: Path, train_texts: list[str]) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "aclImdb_unsup.txt.gz").write_bytes(gzip.compress(b"fine line\n" * 50)[:-20])
    with pytest.raises(MlsplabError, match="aclImdb_unsup.txt.gz: not a readable"):
        get_word_vectors(train_texts, cache_dir=tmp_path / "c", data_dir=d, quick=True, dim=16)
