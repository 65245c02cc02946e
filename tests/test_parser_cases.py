"""Digest parser cases from tests/fixtures/parser_cases.txt (plain-text input/expected pairs)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator.digest import parse_text
from generator.errors import DigestParseError
from generator.models import Record

CASES_FILE = Path(__file__).parent / "fixtures" / "parser_cases.txt"


@dataclass
class Case:
    name: str
    text: str
    expected: list[str]


def load_cases() -> list[Case]:
    """Split the fixture file into cases."""
    cases = []
    chunks = re.split(r"^== (.+)$", CASES_FILE.read_text(encoding="utf-8"), flags=re.M)[1:]
    for name, body in zip(chunks[::2], chunks[1::2], strict=True):
        parts = re.split(r"^\.$", body, flags=re.M)
        text, expected = parts[1].strip("\n"), parts[2].strip("\n").splitlines()
        cases.append(Case(name.strip(), text.replace("⏎", ""), expected))
    return cases


def describe(record: Record) -> str:
    """Render a record as one expected-output line."""
    links = " ".join(link.url for link in record.links) or "-"
    fields = [
        record.title,
        record.authors,
        record.date.iso if record.date else None,
        record.upvotes,
        links,
    ]
    return " | ".join("-" if value is None else str(value) for value in fields)


@pytest.mark.parametrize("case", load_cases(), ids=lambda c: c.name)
def test_parser_case(case: Case) -> None:
    text = case.text
    if "CRLF" in case.name:
        text = "\r\n".join(text.split("\n")).replace("Title with spaces", "Title\u00a0with spaces")
    path = Path(f"{case.name[:10]}.txt")
    if case.expected[0].startswith("error:"):
        line, message = re.fullmatch(r"error: (\d+): (.+)", case.expected[0]).groups()
        with pytest.raises(DigestParseError) as info:
            parse_text(text, path)
        assert info.value.line == int(line)
        assert info.value.reason.startswith(message)
        assert str(info.value).startswith(f"{path}:{line}: ")
    else:
        digest = parse_text(text, path)
        assert [describe(r) for r in digest.records] == case.expected


def test_cases_cover_both_layouts() -> None:
    layouts = {
        parse_text(c.text, Path("x.txt")).layout
        for c in load_cases()
        if "error" not in c.expected[0]
    }
    assert layouts == {"spaced", "compact"}
