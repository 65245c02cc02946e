"""The parser's fast helpers agree with their plain definitions on any text."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from generator.digest import (
    _NBSP,
    _URL_RE,
    _following,
    _is_meta,
    _Line,
    _single_spaced,
    _split_lines,
    extract_links,
    looks_like_abstract,
)
from tests.conftest import DIGESTS

PLAIN_URL_RE = re.compile(
    r"(?:https?://|(?<![\w/.])(?:www\.)?(?:github|gitlab)\.com/)[^\s<>\"'`{}|\\^]+"
)
PLAIN_BREAK_RE = re.compile(r"[.!?]\s+[A-Z0-9(\"'“]")
URLISH = st.lists(
    st.sampled_from(
        ["http", "https", "://", "www.", "github", "gitlab", ".com/", "w", "g", "h", "/", "."]
        + ["x", " ", "_", "-", "(", ")", '"', "it", "hub", "lab", "ww", "\n", "é"]
    ),
    max_size=14,
).map("".join)
PROSE = st.lists(
    st.sampled_from(["A", "b", ".", "!", "?", " ", "  ", "\t", "(", '"', "“", "1", "x" * 300]),
    max_size=20,
).map("".join)
LINES = st.lists(
    st.sampled_from(["a ", "\r", "\n", "\r\n", " ", "\u00a0", "\u2007", "\ufeff", "é", "• 3"]),
    max_size=20,
).map("".join)


@settings(max_examples=3000, deadline=None)
@given(URLISH)
def test_url_regex_finds_what_the_plain_one_finds(text: str) -> None:
    assert [m.span() for m in _URL_RE.finditer(text)] == [
        m.span() for m in PLAIN_URL_RE.finditer(text)
    ]


def test_links_of_real_abstracts() -> None:
    for path in DIGESTS:
        for text in path.read_text(encoding="utf-8").splitlines():
            spans = [m.span() for m in PLAIN_URL_RE.finditer(text)]
            assert [m.span() for m in _URL_RE.finditer(text)] == spans
            assert bool(extract_links(text)) <= bool(spans)


@settings(max_examples=2000, deadline=None)
@given(PROSE)
def test_abstract_test_counts_breaks_as_before(text: str) -> None:
    assert looks_like_abstract(text) == (len(PLAIN_BREAK_RE.findall(text)) >= 2 or len(text) > 1500)


@settings(max_examples=2000, deadline=None)
@given(LINES)
def test_lines_split_as_before(text: str) -> None:
    plain = [
        _Line(i, line.translate(_NBSP).rstrip())
        for i, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1)
    ]
    assert _split_lines(text) == plain


@settings(max_examples=500, deadline=None)
@given(
    st.lists(st.sampled_from(["Title", "· ", "Apr 15, 2023", "• 3 authors", "Abstract. A b. C"]))
)
def test_following_line_skips_metadata(texts: list[str]) -> None:
    content = [_Line(i, t) for i, t in enumerate(texts)]
    metas = [_is_meta(line.text) for line in content]
    expected = [
        next((n for n in content[i + 1 :] if not _is_meta(n.text)), None)
        for i in range(len(content))
    ]
    assert _following(content, metas) == expected


@settings(max_examples=3000, deadline=None)
@given(st.text(max_size=30) | LINES | PROSE)
def test_white_space_is_normalised_as_before(text: str) -> None:
    assert _single_spaced(text) == " ".join(text.split())
