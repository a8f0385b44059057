"""The review tokenizer: HTML stripped, lowercased, word tokens with inner apostrophes."""

from __future__ import annotations

import pytest

from mlsplab.features.tokenizer import tokenize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I <br /><br />LOVED it -- don't miss it!", ["i", "loved", "it", "don't", "miss", "it"]),
        ("Great<br/>acting", ["great", "acting"]),  # a tag between words separates them
        ("<i>Citizen Kane</i> (1941)", ["citizen", "kane", "1941"]),
        ("Tom &amp; Jerry &quot;rocks&quot;", ["tom", "jerry", "rocks"]),
        ("Don\u2019t", ["don't"]),  # typographic apostrophe -> ASCII
        ("the director's cut", ["the", "director's", "cut"]),
        ("'quoted' words", ["quoted", "words"]),  # outer quotes are not part of a token
        ("film_noir e-mail", ["film", "noir", "e", "mail"]),  # _ and - separate tokens
        ("Café NAÏVE", ["café", "naïve"]),  # non-ASCII letters kept, lowercased
        ("...!!! ???", []),
        ("", []),
    ],
)
def test_tokenize(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


def test_tokens_are_lowercase_and_free_of_markup() -> None:
    text = "A <b>BOLD</b> claim.<br /><br />Second PARAGRAPH, with <a href='x'>a link</a>."
    tokens = tokenize(text)
    assert tokens == ["a", "bold", "claim", "second", "paragraph", "with", "a", "link"]
    assert all(t == t.lower() and "<" not in t and ">" not in t for t in tokens)


def test_real_review_slice() -> None:
    # the first review of the real file (kept short): HTML breaks appear as in the data
    text = ("One of the other reviewers has mentioned that after watching just 1 Oz episode "
            "you'll be hooked.<br /><br />The first thing that struck me")
    tokens = tokenize(text)
    assert "you'll" in tokens and "br" not in tokens and tokens[-1] == "me"
