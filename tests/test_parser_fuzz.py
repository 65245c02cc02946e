"""Fuzz the digest parser: any text gives a Digest or a DigestParseError naming a line of the
file, never another exception, and always in bounded time.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.digest import MAX_LINE, parse_text
from generator.errors import DigestParseError
from generator.models import Digest
from tests.conftest import DIGESTS

PATH = Path("fuzz.txt")
REAL_TEXTS = [p.read_text(encoding="utf-8-sig") for p in DIGESTS]
REAL_LINES = sorted({line for text in REAL_TEXTS for line in text.splitlines()})
CHROME = [
    "new",
    "Subscribe",
    "Daily Papers",
    "Get trending papers in your email inbox!",
    "Aug 1",
    "byAK and the research community",
]
META = [
    "  • 3 authors",
    "·",
    "Apr 15, 2023",
    "Sep 10 4",
    "• 1 author",
    "Feb 30, 2023",
    "Feb 29",
    "Jan 99, 2020 3",
]
BREAKS = [
    "\n",
    "\r\n",
    "\r",
    "\n\n",
    "\r\n\r\n",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x85",
    "\u2028",
    "\u2029",
    "\n \n",
    "\n\t\n",
]
SPACES = dict.fromkeys(map(ord, "\u00a0\u2007\u202f\ufeff"), " ")  # read as spaces (documented)
SETTINGS = settings(
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
    derandomize=True,  # the same inputs on every run: a failure here is reproducible
)


def line_count(text: str) -> int:
    """Lines as the parser numbers them (CRLF, CR and LF end a line)."""
    return len(re.split(r"\r\n|\r|\n", text))


def check(text: str) -> None:
    """The parser's whole contract, as this suite states it."""
    try:
        digest = parse_text(text, PATH)
    except DigestParseError as exc:
        assert exc.path == PATH
        assert exc.line is not None, exc
        assert 1 <= exc.line <= line_count(text), (exc.line, line_count(text), str(exc))
        assert str(exc).startswith(f"{PATH}:{exc.line}: ")
        return
    assert isinstance(digest, Digest)
    lines = re.split(r"\r\n|\r|\n", text)
    assert digest.records, "a digest without papers must be an error"
    for number, record in enumerate(digest.records, start=1):
        assert record.position == number
        assert 1 <= record.line <= len(lines)
        assert record.title and record.title == " ".join(record.title.split())
        source = " ".join(lines[record.line - 1].translate(SPACES).split())
        assert record.title in source, (record.title, source)  # a title comes from its own line
        assert record.abstract == " ".join(record.abstract.split())
        for link in record.links:
            assert link.url.startswith(("http://", "https://")), link


real_lines = st.sampled_from(REAL_LINES + CHROME + META + [""])
breaks = st.sampled_from(BREAKS)


@st.composite
def shuffled_real_lines(draw: st.DrawFn) -> str:
    lines = draw(st.lists(real_lines, min_size=1, max_size=40))
    seps = draw(st.lists(breaks, min_size=len(lines), max_size=len(lines)))
    return "".join(line + sep for line, sep in zip(lines, seps, strict=True))


@st.composite
def truncated_real_file(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(REAL_TEXTS))
    start = draw(st.integers(0, len(text) // 2))
    end = draw(st.integers(start, len(text)))
    piece = text[start:end]
    if draw(st.booleans()):
        piece = piece.replace("\n", draw(breaks))
    return piece


@st.composite
def mutated_real_file(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from(REAL_TEXTS)).split("\n")[:60]
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "dup", "swap", "junk", "meta", "chrome"]))
        if action == "drop":
            del lines[at]
        elif action == "dup":
            lines.insert(at, lines[at])
        elif action == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        elif action == "junk":
            lines[at] = draw(st.text(max_size=40))
        elif action == "meta":
            lines.insert(at, draw(st.sampled_from(META)))
        else:
            lines.insert(at, draw(st.sampled_from(CHROME)))
        if not lines:
            lines = [""]
    return "\n".join(lines)


control_heavy = st.text(
    alphabet=st.sampled_from(
        list("\x00\x01\x07\x08\t\x0b\x0c\x1b\x7f\x85\u200b\u2028\u2029\ufeff\ufffe\r\n .A1•·")
    ),
    max_size=200,
)


@settings(SETTINGS, max_examples=1000)
@given(st.text(max_size=400))
def test_random_unicode(text: str) -> None:
    check(text)


@settings(SETTINGS, max_examples=1000)
@given(control_heavy)
def test_control_characters_and_line_break_mixes(text: str) -> None:
    check(text)


@settings(SETTINGS, max_examples=800)
@given(shuffled_real_lines())
def test_shuffled_real_lines(text: str) -> None:
    check(text)


@settings(SETTINGS, max_examples=300)
@given(truncated_real_file())
def test_truncated_real_files(text: str) -> None:
    check(text)


@settings(SETTINGS, max_examples=800)
@given(mutated_real_file())
def test_mutated_real_files(text: str) -> None:
    check(text)


@settings(SETTINGS, max_examples=40)
@given(
    st.integers(MAX_LINE - 2, MAX_LINE + 2),
    st.sampled_from(["x", "A. ", "é", "•", " "]),
    st.integers(0, 3),
)
def test_huge_lines(length: int, unit: str, position: int) -> None:
    line = (unit * (length // len(unit) + 1))[:length]
    pieces = ["new", "Title", "An abstract here. It has sentences. Many."]
    pieces.insert(position, line)
    check("\n\n".join(pieces))


def _parse_seconds(papers: int) -> float:
    body = "".join(
        f"Title {i}\n\nAbstract {i} here. It has sentences. Many.\n\n" for i in range(papers)
    )
    text = "new\n\n" + body
    best = float("inf")
    for _ in range(2):  # the faster of two runs: less noise from a busy machine
        started = time.perf_counter()
        check(text)
        best = min(best, time.perf_counter() - started)
    return best


def test_many_papers_parse_in_linear_time() -> None:
    """Four times the papers must cost about four times the time, not sixteen.

    (A ratio, not a fixed bound, so a slow or busy machine does not fail it; 40,000 papers
    is about 2.3 MB of digest.)
    """
    small, large = _parse_seconds(10_000), _parse_seconds(40_000)
    assert large < 8 * small + 0.2, f"10k papers: {small:.2f}s, 40k papers: {large:.2f}s"


def test_real_digests_parse() -> None:
    for text in REAL_TEXTS:
        check(text)
