"""The fast YAML reader gives exactly what PyYAML reads, errors included, or hands over to it."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.errors import ContentError
from generator.store import HEADER
from generator.yamlio import _pyyaml_loads, _read_own, dumps, loads
from tests.test_yaml_writer import ENTRIES, NASTY, ROOT, _documents

OWN_FILES = [*ENTRIES, ROOT / "content" / "digests.yaml"]


def _outcome(read, text: str) -> object:
    """Return what a reader makes of `text`: its data, or the error it raises."""
    try:
        return ("data", read(text, "x.yaml"))
    except ContentError as exc:
        return ("error", str(exc))


def _agrees(text: str) -> None:
    assert _outcome(loads, text) == _outcome(_pyyaml_loads, text)


def test_every_shipped_entry_and_the_ledger_take_the_fast_path() -> None:
    for path in OWN_FILES:
        text = path.read_text("utf-8")
        data = _read_own(text)
        assert data is not None, path
        assert data == _pyyaml_loads(text, path), path


@pytest.mark.parametrize("text", NASTY, ids=range(len(NASTY)))
def test_nasty_strings_read_back(text: str) -> None:
    for doc in _documents(text):
        try:
            written = HEADER + dumps(doc)
        except ValueError:
            continue
        _agrees(written)
        if _read_own(written) is not None:
            assert _read_own(written) == doc


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=150), st.sampled_from(range(5)))
def test_any_written_text_reads_back_as_pyyaml_reads_it(text: str, which: int) -> None:
    doc = _documents(text)[which]
    written = dumps(doc)
    _agrees(written)
    _agrees(HEADER + written)


VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(alphabet=st.sampled_from(list("ab: #'-\"[]{}0.1\t")), max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "key", "b_2", "yes", "1"]), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "key", "ingest", "x1"]), VALUES, min_size=1))
def test_any_written_tree_reads_back(doc: dict) -> None:
    written = dumps(doc)
    _agrees(written)
    if _read_own(written) is not None:
        assert _read_own(written) == doc


EDITS = [
    ("  title: ", "  title:  "),
    ("  title: ", "  title: &a "),
    ("  title: ", "  title: !!str "),
    ("  title: ", '  title: "x\\ty" #'),
    ("ingest:\n", "ingest:\r\n"),
    ("ingest:\n", "ingest: # note\n"),
    ("ingest:\n", "ingest:\n  title: duplicate\n"),
    ("# Survey entry", "#\x07Survey entry"),
    ("# Survey entry", "# Survey\rtitle: injected\n# entry"),
    ("# Survey entry", "%YAML 1.1\n---\n# Survey entry"),
    ("\n  authors:", "\n\tauthors:"),
    ("\n  authors:", "\n   authors:"),
    ("\n  authors:", "\n authors:"),
    ("\n  links:", "\n  links: [a, b]\n  more:"),
    ("\n  seen_in:\n  - ", "\n  seen_in:\n    - "),
    ("\n  seen_in:\n  - ", "\n  seen_in:\n  -\n    "),
    ("\n  upvotes: ", "\n  upvotes: 0"),
    ("\n  upvotes: ", "\n  upvotes: 1_"),
    ("\ncurated:\n", "\n...\ncurated:\n"),
    ("\ncurated:\n", "\n---\ncurated:\n"),
    ("  hidden: false\n", "  hidden: False\n"),
    ("  hidden: false\n", "  hidden: no\n"),
    ("  hidden: false\n", "  hidden:\n"),
    ("  hidden: false\n", "  hidden: false"),
    ("  hidden: false\n", "  hidden: false\n\n"),
    ("  hidden: false\n", "  hidden: false\n# trailing comment\n"),
    ("  note: ''\n", "  note: 'it''s\n    fine'\n"),
    ("  note: ''\n", "  note: |\n    literal\n"),
    ("  note: ''\n", "  note: '\n"),
    ("  tags: []\n", "  tags: {}\n"),
    ("  tags: []\n", "  tags: [x]\n"),
]


@pytest.mark.parametrize("edit", EDITS, ids=range(len(EDITS)))
def test_hand_edits_read_as_pyyaml_reads_them(edit: tuple[str, str]) -> None:
    for path in OWN_FILES[:3] + OWN_FILES[-1:]:
        text = path.read_text("utf-8")
        if edit[0] in text:
            _agrees(text.replace(edit[0], edit[1], 1))


SIGNIFICANT = list(" \n\t\r:-#'\"&*!x0.{}[]|>")


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_any_small_corruption_reads_as_pyyaml_reads_it(data: st.DataObject) -> None:
    text = data.draw(st.sampled_from(OWN_FILES[:20])).read_text("utf-8")
    at = data.draw(st.integers(0, len(text)))
    cut = data.draw(st.integers(0, 3))
    insert = data.draw(st.text(alphabet=st.sampled_from(SIGNIFICANT), max_size=3))
    _agrees(text[:at] + insert + text[at + cut :])


def test_a_file_read_on_the_fast_path_is_a_fresh_value(tmp_path: Path) -> None:
    text = HEADER + dumps({"a": [], "b": {}, "c": []})
    first, second = loads(text), loads(text)
    first["a"].append(1)
    assert second == {"a": [], "b": {}, "c": []}
    assert first["a"] is not first["c"]
