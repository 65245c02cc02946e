"""The parsed-entry cache: base plus delta files, the held copy, and stamps that guard both."""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import make_project

from generator import entrycache, store
from generator.errors import ContentError
from generator.store import load_store


@pytest.fixture
def papers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the shipped entries, its cache empty and nothing held in memory.

    The other process's share is tuned for speed (at this size it can be nothing): here it
    is set so that both processes read some entries.
    """
    monkeypatch.setattr(store, "HEAD_START", 20)
    entrycache.forget()
    root = make_project(tmp_path / "proj", digests=False, papers=True)
    yield root / "content" / "papers"
    entrycache.forget()


def _load(papers: Path) -> dict[str, store.StoredEntry]:
    return load_store(papers, papers.parent, papers.parent.parent / ".survey-cache")


def _cache_file(papers: Path, name: str) -> Path:
    return papers.parent.parent / ".survey-cache" / f"{name}.pickle"


def _cached_names(papers: Path, name: str) -> set[str]:
    with _cache_file(papers, name).open("rb") as handle:
        return set(pickle.load(handle)[1])


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    seen: list[Path] = []
    real = store.read_entry
    monkeypatch.setattr(store, "read_entry", lambda path: seen.append(path) or real(path))
    return seen


def _note(path: Path, note: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert "  note: ''" in text
    path.write_text(text.replace("  note: ''", f"  note: {note}"), encoding="utf-8")


def test_a_few_edits_go_to_the_delta_and_leave_the_base_alone(
    papers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _load(papers)
    base = _cache_file(papers, "entries").read_bytes()
    assert _cached_names(papers, "entries") == {f"{slug}.yaml" for slug in first}
    edited = sorted(papers.glob("*.yaml"))[:3]
    for path in edited:
        _note(path, "Edited.")
    entrycache.forget()  # a new process: only the files on disk
    reads = _reads(monkeypatch)
    second = _load(papers)
    assert sorted(reads) == edited
    assert _cache_file(papers, "entries").read_bytes() == base
    assert _cached_names(papers, "entries-delta") == {p.name for p in edited}
    assert all(second[p.stem].entry.curated.note == "Edited." for p in edited)
    entrycache.forget()
    reads.clear()
    assert _load(papers).keys() == second.keys() and reads == []  # base plus delta: all hits


def test_many_edits_rewrite_the_base_and_empty_the_delta(
    papers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entrycache, "DELTA_MIN", 5)
    _load(papers)
    for path in sorted(papers.glob("*.yaml"))[:60]:
        _note(path, "Edited.")
    entrycache.forget()
    loaded = _load(papers)
    assert _cached_names(papers, "entries-delta") == set()
    assert _cached_names(papers, "entries") == {f"{slug}.yaml" for slug in loaded}


def test_the_held_copy_spares_a_second_unpickling(
    papers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load(papers)
    entrycache.forget()
    loads: list[str] = []
    real = entrycache.cache.load
    monkeypatch.setattr(entrycache.cache, "load", lambda d, n: loads.append(n) or real(d, n))
    _load(papers)
    _load(papers)
    assert loads == ["entries", "entries-delta"]  # once, for the first load only


def test_a_stale_cached_entry_is_read_again(papers: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _load(papers)
    path = sorted(papers.glob("*.yaml"))[0]
    _note(path, "Edited.")
    _load(papers)  # the edit is now in the delta
    text = path.read_text(encoding="utf-8").replace("  note: Edited.", "  note: Again.")
    path.write_text(text, encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    entrycache.forget()
    reads = _reads(monkeypatch)
    assert _load(papers)[path.stem].entry.curated.note == "Again."
    assert reads == [path]


def test_damaged_cache_files_mean_reading_every_entry(
    papers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _load(papers)
    _note(sorted(papers.glob("*.yaml"))[0], "Edited.")
    _load(papers)
    for name in ("entries", "entries-delta"):
        _cache_file(papers, name).write_bytes(b"not a pickle")
    entrycache.forget()
    reads = _reads(monkeypatch)
    assert _load(papers).keys() == first.keys()
    assert len(reads) == len(first)


def _with_tail(papers: Path, tail: dict) -> tuple[dict[str, store.StoredEntry], list[str]]:
    """Load with another process's share of the entries; record when it was asked for."""
    asked: list[str] = []

    def wait() -> dict:
        asked.append("tail")
        return tail

    return load_store(papers, papers.parent, tail=wait), asked


def test_entries_read_by_another_process_are_used_where_still_current(
    papers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold build's helper reads the last entry files (`read_tail`) while this one reads."""
    paths = sorted(papers.glob("*.yaml"))
    share = store.tail_share(len(paths))
    assert 0 < share < len(paths) // 2
    tail = store.read_tail(papers, papers.parent)
    assert sorted(tail) == [p.name for p in paths[-share:]]
    edited = paths[-1]
    _note(edited, "Edited after the other process read it.")
    reads = _reads(monkeypatch)
    loaded, asked = _with_tail(papers, tail)
    assert asked == ["tail"]
    assert reads == [*paths[:-share], edited]  # the rest came from the other process
    assert loaded == load_store(papers, papers.parent)
    assert loaded[edited.stem].entry.curated.note == "Edited after the other process read it."


def test_an_error_in_this_process_share_comes_before_the_other_process_error(
    papers: Path,
) -> None:
    paths = sorted(papers.glob("*.yaml"))
    good = paths[0].read_text(encoding="utf-8")
    for path in (paths[0], paths[-1]):
        path.write_text("ingest: [unclosed\n", encoding="utf-8")
    with pytest.raises(ContentError) as info:
        store.read_tail(papers, papers.parent)  # the other process stops at its error
    assert info.value.path == paths[-1]
    asked: list[str] = []

    def failing() -> dict:
        asked.append("tail")
        raise info.value

    with pytest.raises(ContentError) as first:
        load_store(papers, papers.parent, tail=failing)
    assert (first.value.path, asked) == (paths[0], [])  # the first error in file order
    paths[0].write_text(good, encoding="utf-8")
    with pytest.raises(ContentError) as then:
        load_store(papers, papers.parent, tail=failing)
    assert (then.value.path, asked) == (paths[-1], ["tail"])
