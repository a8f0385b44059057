"""The review tokenizer: HTML stripped, lowercased, word tokens.

Rules, in order:

1. HTML tags (the reviews hold ``<br /><br />`` line breaks) become spaces;
   HTML entities (``&amp;``) are unescaped.
2. Text is lowercased.
3. Tokens are maximal runs of letters/digits, with inner apostrophes kept
   (``don't``, ``director's``); everything else (punctuation, quotes, dashes) separates tokens.

>>> tokenize("I <br /><br />LOVED it -- don't miss it!")
['i', 'loved', 'it', "don't", 'miss', 'it']
"""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"<[^>]*>")
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def tokenize(text: str) -> list[str]:
    """Split a review into lowercase word tokens (see module docstring for the rules)."""
    text = html.unescape(_TAG.sub(" ", text)).lower()
    text = text.replace("\u2019", "'")  # typographic apostrophe -> ASCII
    return _TOKEN.findall(text)
