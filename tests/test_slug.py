"""Title keys and slugs: the fast ASCII path gives what the general Unicode path gives."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.corpus import generate
from generator.digest import parse_digest, parse_text
from generator.slug import _ascii_words, slugify, title_key
from tests.conftest import DIGESTS


def reference_title_key(title: str) -> str:
    """The title key as first written, character by character."""
    text = unicodedata.normalize("NFKC", title).casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    key = "".join(ch for ch in decomposed if ch.isalnum())
    return key or "".join(text.split())


def reference_ascii_words(title: str) -> list[str]:
    """The slug words as first written."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", title).casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.findall(r"[a-z0-9]+", text.encode("ascii", "ignore").decode("ascii"))


def _check(title: str) -> None:
    assert title_key(title) == reference_title_key(title), title
    assert _ascii_words(title) == reference_ascii_words(title), title


def test_shipped_and_synthetic_titles() -> None:
    titles = [r.title for path in DIGESTS for r in parse_digest(path).records]
    corpus = generate(2000, seed=4)
    titles += [r.title for n, t in corpus.digests for r in parse_text(t, Path(n)).records]
    for title in titles:
        _check(title)
    assert len({slugify(t) for t in titles}) == len({title_key(t) for t in titles})


def test_edge_titles() -> None:
    for title in [
        "",
        " ",
        "!!!",
        "- -",
        "CON",
        "Index",
        "a" * 200,
        "Ä" * 100,
        "ﬁne ½ Ⅳ",
        "İı",
        "ß",
    ]:
        _check(title)


@settings(max_examples=3000, deadline=None)
@given(st.text(max_size=40) | st.text(alphabet="aZ09 -_:.,'\"()!?", max_size=40))
def test_any_title(title: str) -> None:
    _check(title)
