"""The fast YAML writer gives exactly the bytes `yaml.dump` gives, or hands over to it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.corpus import generate
from generator import parallel
from generator.config import load_config
from generator.ingest import ingest
from generator.store import HEADER
from generator.yamlio import _pyyaml_dumps, _Unsupported, _Writer, dumps, load_file
from tests.conftest import make_project

ROOT = Path(__file__).resolve().parent.parent
ENTRIES = sorted((ROOT / "content" / "papers").glob("*.yaml"))

NASTY = [
    "",
    " ",
    "a",
    "yes",
    "No",
    "OFF",
    "null",
    "Null",
    "~",
    "true",
    "12",
    "-12",
    "012",
    "0x1F",
    "1_000",
    "1:30",
    "1.5",
    ".5",
    "1e3",
    "1.0e-05",
    ".inf",
    ".NaN",
    "2024-01-01",
    "2024-01-01 10:00:00",
    "--04-15",
    "=",
    "<<",
    "- a",
    "-a",
    "-",
    "--",
    "---",
    "--- a",
    "...",
    "? a",
    "?a",
    ":a",
    "a:",
    "a: b",
    "a:b",
    "a :b",
    "a #b",
    "a#b",
    "#a",
    "'q'",
    '"q"',
    "it's",
    "'",
    "''",
    "a'b c'd",
    "[x]",
    "a [x]",
    "{x}",
    "a, b",
    ",a",
    "@x",
    "`x",
    "!x",
    "&x",
    "*x",
    "|x",
    ">x",
    "%x",
    "a  b",
    " a",
    "a ",
    "  ",
    "\ta",
    "a\tb",
    "a\nb",
    "a\n",
    "a\r\nb",
    "a\x00b",
    "\x7f",
    "\x85",
    "\u00a0",
    "a\u00a0b",
    "\u2028",
    "\ufeff",
    "\ufffe",
    "é",
    "naïve Über Straße",
    "漢字 かな",
    "🙂 emoji",
    "\U0001d518",
    '+10.50 title "Hypernetworks" [hypernetwork]',
    '-1.50 abstract "low-rank" [low-rank]',
    '+2.00 claim "weights: latent" x3 [weights in a latent space]',
    "x" * 300,
    "word " * 60,
    ("long " * 19 + "x" * 150 + " tail ") * 2,
    "a " + "é" * 150 + " b",
    "'" + "quoted word " * 20 + "'",
    "ends with colon " * 8 + ":",
    "  lead and trail  " * 8,
]
WORD = st.sampled_from(["a", "word", "longer-word", "x" * 40, "it's", "a:b", "#", "é", "yes"])
SPACE = st.sampled_from([" ", " ", " ", "  ", ": ", " #", "'"])


def _same(doc: object) -> None:
    assert dumps(doc) == _pyyaml_dumps(doc)


def _documents(text: str) -> list[object]:
    return [
        {"k": text},
        {"a_rather_long_key_name": text, "n": 1},
        {"seq": [text, text + "x"], "empty": [], "none": {}},
        {"ingest": {"title": text, "topics": [{"topic": "t", "evidence": [text, "x"]}]}},
        {"top": {"mid": [{"low": text}, {"low": [text]}]}},
    ]


@pytest.mark.parametrize("text", NASTY, ids=range(len(NASTY)))
def test_nasty_strings(text: str) -> None:
    for doc in _documents(text):
        _same(doc)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(WORD, SPACE), max_size=40).map(lambda xs: "".join(a + b for a, b in xs)))
def test_folding_at_every_column(text: str) -> None:
    for doc in _documents(text.strip()) + _documents(text):
        _same(doc)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=150))
def test_any_text(text: str) -> None:
    for doc in _documents(text):
        _same(doc)


@pytest.mark.parametrize(
    "value", [0, -7, 10**30, 0.0, -0.0, 22.0, -3.5, 0.1 + 0.2, 1e16, 1e-7, math.inf, -math.inf]
)
def test_numbers_and_constants(value: float) -> None:
    _same({"v": value, "t": True, "f": False, "n": None, "l": [value, None]})
    _same({"v": math.nan})


def test_shared_and_odd_containers_go_through_pyyaml() -> None:
    shared = ["x"]
    for doc in ({"a": shared, "b": shared}, {"a": [["x"]]}, {"a": [[]]}, {1: "x"}, {"yes": 1}, {}):
        _same(doc)
        with pytest.raises(_Unsupported):
            _Writer().document(doc)


def test_every_shipped_entry_and_the_ledger_without_pyyaml() -> None:
    for path in [*ENTRIES, ROOT / "content" / "digests.yaml"]:
        data = load_file(path)
        parts = [{k: v} for k, v in data.items()] if "ingest" in data else [data]
        for part in [*parts, data]:
            assert _Writer().document(part) == _pyyaml_dumps(part), path


def test_entries_of_a_synthetic_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "_enabled", False)
    root = make_project(tmp_path / "proj", digests=False)
    generate(300, seed=3, extra=40).write(root / "content" / "digests")
    ingest(load_config(root))
    for path in sorted((root / "content" / "papers").glob("*.yaml")):
        data = load_file(path)
        text = HEADER + _pyyaml_dumps({"ingest": data["ingest"]})
        assert path.read_text("utf-8") == text + _pyyaml_dumps({"curated": data["curated"]})
