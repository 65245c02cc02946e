"""Index terms: the text analysis the search index and related papers share.

A text is normalized (NFC, whitespace runs collapsed), lowercased and split on whitespace
and hyphens as lunr's tokenizer splits it; each token is trimmed of non-word characters at
both ends, dropped if it is one of lunr's stop words, and stemmed with lunr.js's stemmer.
The search index (`search.py`) ships these terms; related papers (`related.py`) weigh the
same terms, so a build analyses each paper's text once for both.

Numpy-free: a small survey ranks its related papers without importing numpy.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from lunr.stop_word_filter import WORDS

from .stemmer import stem

# Union of Python's str.isspace() and JavaScript's \s, so both sides normalize alike.
SPACE_RE = re.compile(
    "[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+"
)
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
# lunr.py's Tokenizer splits on these; a regex finds the same tokens much faster.
TOKEN_RE = re.compile("[^ \t\n\r\f\v\xa0-]+")
SEPARATORS = frozenset(" -")
STOP_WORDS = frozenset(WORDS)


def normalize_text(text: str) -> str:
    """Return NFC text with lone surrogates replaced and whitespace runs collapsed."""
    if text.isascii():  # the common case: str.split knows exactly the ASCII of SPACE_RE
        return " ".join(text.split())
    text = _SURROGATE_RE.sub("\ufffd", text)
    return SPACE_RE.sub(" ", unicodedata.normalize("NFC", text)).strip(" ")


def _is_word_char(char: str) -> bool:
    """Return whether a character is a letter, a number or `_` (JS `[\\p{L}\\p{N}_]`)."""
    return char == "_" or unicodedata.category(char)[0] in "LN"


def trim_word(text: str) -> str:
    """Strip non-word characters from both ends; keep the text if nothing would remain."""
    if text[:1].isalnum() and text[-1:].isalnum() and text[0].isascii() and text[-1].isascii():
        return text  # the common case: ASCII letters or digits at both ends
    start, end = 0, len(text)
    while start < end and not _is_word_char(text[start]):
        start += 1
    while end > start and not _is_word_char(text[end - 1]):
        end -= 1
    return text[start:end] if end > start else text


@lru_cache(maxsize=200_000)
def index_term(raw: str) -> str | None:
    """Return the index term of one lowercased token, or None for a stop word.

    The same result as lunr's index pipeline (trimmer, stop word filter, stemmer) run on
    the token (tests check it on every token of the shipped papers), at a fraction of the
    cost; the cache serves every text a process analyses.
    """
    word = trim_word(raw)
    return None if word in STOP_WORDS else _stem(word)


_stem = lru_cache(maxsize=200_000)(stem)  # tokens trimmed alike ("net", "net,") share a stem


def index_terms(lowered: str) -> list[str | None]:
    """Return the index term of each token of a normalized, lowercased text (None: stop word).

    Normalized text has no whitespace but single spaces, so its tokens are what is left
    between spaces and hyphens: `str.split` finds them twice as fast as `TOKEN_RE`.
    """
    return list(map(index_term, lowered.replace("-", " ").split()))
