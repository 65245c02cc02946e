"""YAML stays data: exact-string round trips, hand edits that fail loudly, alias bombs refused."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.errors import ContentError
from generator.models import Entry, Observation
from generator.slug import slugify
from generator.store import (
    CURATED_DEFAULTS,
    HEADER,
    entry_text,
    ingest_block,
    read_entry,
    render_new,
)
from generator.yamlio import dumps, load_file, loads
from tests.conftest import make_project

# Plain scalars that YAML 1.1 (PyYAML's default) would turn into bools, numbers, dates or null.
RETYPED = [
    "NO",
    "yes",
    "Off",
    "y",
    "2301.10000",
    "012",
    "0o17",
    "2024-01-01",
    "2024-01-01 10:00:00",
    "null",
    "~",
    "1e3",
    "0x10",
    ".inf",
    "-.inf",
    ".NaN",
    "1_000",
    "12:30:00",
    "+1",
    "0.",
    "true",
    "False",
    "",
    " ",
    "=",
    "<<",
]
# The same values as a person might type them unquoted: the restricted schema keeps them text.
UNQUOTED_TEXT = [
    "NO",
    "yes",
    "Off",
    "2301.1000a",
    "012",
    "0o17",
    "2024-01-01",
    "1e3",
    "0x10",
    ".inf",
    ".NaN",
    "1_000",
    "12:30:00",
    "0.",
    "=",
    "y",
]

TITLE = "Exact Strings Survive"
DIGEST = f"new\n\n{TITLE}\n\nAn abstract for the paper. It has two sentences. And one more.\n"


def test_retyped_values_round_trip_through_yamlio() -> None:
    for value in RETYPED:
        for doc in (value, [value], {"k": value}, {"tags": [value], "title": value}):
            text = dumps(doc)
            assert loads(text) == doc, f"{value!r} came back as {loads(text)!r} from {text!r}"
    for value in UNQUOTED_TEXT:
        assert loads(f"k: {value}\n") == {"k": value}, value
        assert loads(f"k: [{value}]\n") == {"k": [value]}, value


def test_only_plain_null_bool_int_and_dotted_float_are_typed() -> None:
    assert loads("a: null\nb: ~\nc:\nd: true\ne: 12\nf: 1.5\ng: -3\n") == {
        "a": None,
        "b": None,
        "c": None,
        "d": True,
        "e": 12,
        "f": 1.5,
        "g": -3,
    }


@pytest.fixture
def project(tmp_path: Path, cli) -> Path:
    root = make_project(tmp_path / "proj", digests=False)
    (root / "content" / "digests" / "d.txt").write_text(DIGEST, encoding="utf-8")
    cli(root, "ingest")
    return root


def _entry_path(root: Path) -> Path:
    return root / "content" / "papers" / f"{slugify(TITLE)}.yaml"


def _set_curated(path: Path, curated_yaml: str) -> None:
    text = path.read_text(encoding="utf-8")
    head = text[: text.index("\ncurated:") + 1]
    path.write_text(head + curated_yaml, encoding="utf-8")


@pytest.mark.parametrize("value", RETYPED[:14])
def test_retyped_values_survive_a_real_entry_and_reingest(project: Path, cli, value: str) -> None:
    path = _entry_path(project)
    curated = {**CURATED_DEFAULTS, "title": value, "tags": RETYPED}
    _set_curated(path, dumps({"curated": curated}))
    cli(project, "ingest", str(project / "content" / "digests" / "d.txt"))
    cli(project, "ingest")
    stored = read_entry(path)
    assert stored.entry.curated.tags == RETYPED
    assert stored.entry.curated.title == (value or None)
    assert load_file(path)["curated"]["title"] == value


def test_unquoted_hand_typed_values_stay_text(project: Path, cli) -> None:
    path = _entry_path(project)
    tags = "\n".join(f"  - {v}" for v in UNQUOTED_TEXT)
    _set_curated(
        path, f"curated:\n  title: '2301.10000'\n  note: NO\n  tags:\n{tags}\n  hidden: false\n"
    )
    cli(project, "build")
    entry = read_entry(path).entry
    assert entry.curated.title == "2301.10000" and entry.curated.note == "NO"
    assert entry.curated.tags == UNQUOTED_TEXT
    page = (project / "_site" / "papers" / f"{slugify(TITLE)}.html").read_text(encoding="utf-8")
    assert "<h1>2301.10000</h1>" in page


@pytest.mark.parametrize("field", ["title", "note", "tags"])
def test_an_unquoted_number_in_a_text_field_is_refused_not_retyped(
    project: Path, cli, field: str
) -> None:
    """`2301.10000` unquoted is the float 2301.1 to YAML: the entry must not show `2301.1`."""
    path = _entry_path(project)
    value = "[2301.10000]" if field == "tags" else "2301.10000"
    _set_curated(path, f"curated:\n  hidden: false\n  {field}: {value}\n")
    text = path.read_text(encoding="utf-8")
    line = text.count("\n", 0, text.index(f"  {field}: {value}")) + 1
    result = cli(project, "build", ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{path}:{line}:" in result.output and "text" in result.output, result.output
    assert not (project / "_site").exists()


# --------------------------------------------------------------------------- property test

_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=60
) | st.sampled_from(
    RETYPED + ["\ufeff", "\x85", "\u2028x", "a\r\nb", "#x", "- x", "x: y", "'", '"', "|"]
)


def _entry(title: str, abstract: str) -> Entry:
    return Entry(
        slug="p",
        title=title,
        abstract=abstract,
        authors=None,
        date=None,
        upvotes=None,
        links=(),
        seen_in=(Observation("d", 1, 3),),
    )


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    title=_text.filter(bool),
    abstract=_text,
    note=_text,
    tags=st.lists(_text, max_size=4),
    curated_title=_text,
)
def test_any_text_survives_write_then_read(
    tmp_path: Path, title, abstract, note, tags, curated_title
) -> None:
    """What the store writes it reads back unchanged, or refuses with a located error."""
    path = tmp_path / "entry.yaml"
    entry = _entry(title, abstract)
    curated = {**CURATED_DEFAULTS, "title": curated_title, "note": note, "tags": tags}
    text = render_new(entry).replace(
        dumps({"curated": dict(CURATED_DEFAULTS)}), dumps({"curated": curated})
    )
    path.write_bytes(text.encode("utf-8"))
    try:
        stored = read_entry(path)
    except ContentError as exc:  # refused is fine, if it says where
        assert str(path) in str(exc)
        return
    got = stored.entry
    assert (got.title, got.abstract) == (title, abstract)
    assert (got.curated.note, got.curated.tags, got.curated.title) == (
        note,
        tags,
        curated_title or None,
    )
    # A re-ingest rewrites only the ingest block; the curated text is kept byte for byte.
    changed = _entry(title, abstract + " More.")
    spliced = entry_text(changed, stored)
    assert spliced.endswith(dumps({"curated": curated}))
    path.write_bytes(spliced.encode("utf-8"))
    again = read_entry(path).entry
    assert (
        again.abstract == abstract + " More."
        and again.curated.note == note
        and again.curated.tags == tags
    )


def test_store_text_starts_with_header_and_is_block_yaml() -> None:
    text = render_new(_entry("T", "A. B."))
    assert text.startswith(HEADER) and "ingest:\n" in text and "curated:\n" in text
    assert loads(text)["ingest"] == ingest_block(_entry("T", "A. B."))


# --------------------------------------------------------------------------- bad hand edits

BROKEN = {
    # case: (curated block, lines (within it) an error may name: where it starts or is noticed)
    "syntax": ("curated:\n  title: [unclosed\n  note: x\n", {2, 3}),
    "duplicate": ("curated:\n  title: One\n  note: x\n  title: Two\n", {4}),
    "tab": ("curated:\n\ttitle: x\n", {2}),
    "python-tag": ("curated:\n  title: !!python/object/apply:os.system ['touch pwned']\n", {2}),
    "bad-type": ("curated:\n  title: x\n  hidden: maybe\n", {3}),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_hand_edit_fails_with_file_and_line_and_is_never_rewritten(
    project: Path, cli, case: str
) -> None:
    path = _entry_path(project)
    good = path.read_text(encoding="utf-8")
    curated_at = good.count("\n", 0, good.index("\ncurated:") + 1)  # lines before `curated:`
    snippet, lines_in_snippet = BROKEN[case]
    _set_curated(path, snippet)
    broken = path.read_bytes()
    expected_lines = {curated_at + n for n in lines_in_snippet}
    for command in (("build",), ("ingest",), ("build", "--no-ingest")):
        result = cli(project, *command, ok=False)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        match = re.search(re.escape(str(path)) + r":(\d+):", result.output)
        assert match, result.output
        assert int(match[1]) in expected_lines, result.output
        assert path.read_bytes() == broken, f"{command} rewrote a file it could not read"
    assert not (project / "_site").exists()
    assert not (project / "pwned").exists() and not Path("pwned").exists()


# --------------------------------------------------------------------------- alias bombs


def billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels + 1):
        refs = ",".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_quickly() -> None:
    import yaml

    small = yaml.safe_load(billion_laughs(3))  # proof the document really expands
    assert len(small["a3"]) == 9 and len(small["a3"][0][0]) == 9
    started = time.perf_counter()
    with pytest.raises(ContentError, match="alias"):
        loads(billion_laughs(9), "bomb.yaml")  # 9**10 strings if expanded
    assert time.perf_counter() - started < 1.0


def test_alias_bomb_in_an_entry_fails_the_build_quickly(project: Path) -> None:
    """Run in a child process with a timeout: without the protection this would not return."""
    path = _entry_path(project)
    bomb = "".join("  " + line + "\n" for line in billion_laughs(9).splitlines())
    _set_curated(path, "curated:\n  title: x\n" + bomb)
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600"}
    env.pop("CI", None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "generator.cli", "--root", str(project), "build"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert time.perf_counter() - started < 30.0
    assert done.returncode == 1 and "alias" in done.stderr and "Traceback" not in done.stderr, (
        done.stderr
    )
    assert re.search(re.escape(str(path)) + r":\d+:", done.stderr)


def test_huge_flat_yaml_is_refused_by_size() -> None:
    with pytest.raises(ContentError, match="larger than"):
        loads("k: " + "x" * 3_000_000)
