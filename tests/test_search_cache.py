"""The search cache only saves work: cached payloads are byte-identical to uncached ones."""

from __future__ import annotations

import dataclasses
import pickle
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from test_search_index import corpus_docs

from generator import cache, search, search_cache
from generator.related import related_papers
from generator.search import SearchDoc, SearchMemo, build_search_files, order_docs
from generator.search_cache import FILES, TERMS, cached_search_files, load_memo, payload_key
from generator.search_postings import Vocabulary, distinct

SHARD = 40  # several shards, so added documents shift every shard boundary


@pytest.fixture(autouse=True)
def _new_process() -> Iterator[None]:
    """Start and end each test with no analyses held in memory, as a new process would."""
    search_cache.forget()
    yield
    search_cache.forget()


@pytest.fixture
def analysed(monkeypatch: pytest.MonkeyPatch) -> list[SearchDoc]:
    """Record every document analysed from its text (rather than taken from a cache)."""
    seen: list[SearchDoc] = []
    real = search.analyze_doc

    def spy(doc: SearchDoc) -> search.AnalyzedDoc:
        seen.append(doc)
        return real(doc)

    monkeypatch.setattr(search, "analyze_doc", spy)
    return seen


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the payloads the cache had to build (rather than reuse)."""
    count: list[int] = []
    real = search_cache.build_search_files

    def spy(docs: list[SearchDoc], **kwargs: object) -> dict[str, bytes]:
        count.append(len(docs))
        return real(docs, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(search_cache, "build_search_files", spy)
    return count


def _cold(docs: list[SearchDoc]) -> dict[str, bytes]:
    return build_search_files(docs, shard_size=SHARD)


def _edit(docs: list[SearchDoc], at: int, **changes: object) -> list[SearchDoc]:
    return [dataclasses.replace(d, **changes) if i == at else d for i, d in enumerate(docs)]


def _steps() -> list[tuple[str, list[SearchDoc], int]]:
    """Return successive corpora, each with how many documents are new to the cache."""
    docs = order_docs(corpus_docs())
    base = docs[30:330]  # the 30 newest come later: they shift every shard
    grown = docs[:30] + base
    titled = _edit(grown, 5, title="A new title about pruning")
    abstracted = _edit(titled, 50, abstract="A rewritten abstract on sparse networks.")
    topical = _edit(abstracted, 100, topics=("Pruning and sparsity", "A new topic"))
    relabelled = _edit(topical, 120, date_label="Sometime")  # shown, but moves nothing
    redated = _edit(relabelled, 150, year=1999, date_iso="1999-01-02", date_label="Jan 2, 1999")
    return [
        ("cold", base, len(base)),
        ("unchanged", base, 0),
        ("added", grown, 30),
        ("title", titled, 1),
        ("abstract", abstracted, 1),
        ("topics", topical, 1),
        ("label", relabelled, 0),
        ("date", redated, 0),  # not analysed again, yet it moves and renumbers documents
        ("removed", redated[::2], 0),
        ("back", redated, len(redated) - len(redated[::2])),  # forgotten when removed
    ]


@pytest.mark.parametrize("process", ["one process", "a process per build"])
def test_cached_payloads_equal_cold_ones_through_edits(
    tmp_path: Path, analysed: list[SearchDoc], builds: list[int], process: str
) -> None:
    for name, docs, new in _steps():
        if process == "a process per build":
            search_cache.forget()  # only the files on disk
        analysed.clear()
        files = cached_search_files(docs, SHARD, tmp_path)
        assert len(analysed) == new, name
        assert files == _cold(docs), name
    assert len(builds) == len(_steps()) - 1  # only the unchanged corpus reused its payload


def test_an_unchanged_corpus_reuses_the_payload_and_rewrites_nothing(
    tmp_path: Path, builds: list[int]
) -> None:
    docs = list(corpus_docs())
    first = cached_search_files(docs, SHARD, tmp_path)
    stamps = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    assert cached_search_files(list(reversed(docs)), SHARD, tmp_path) == first
    assert len(builds) == 1
    (tmp_path / f"{FILES}.pickle").unlink()  # the payload must be built, the terms not saved
    assert cached_search_files(docs, SHARD, tmp_path) == first
    assert len(builds) == 2
    assert (tmp_path / f"{TERMS}.pickle").stat().st_mtime_ns == stamps[f"{TERMS}.pickle"]


def test_ranking_related_papers_first_analyses_each_document_once(
    tmp_path: Path, analysed: list[SearchDoc]
) -> None:
    docs = list(corpus_docs())
    slugs = [doc.url.removeprefix("papers/").removesuffix(".html") for doc in docs]
    related = search_cache.ranked_related(docs, slugs, 5, tmp_path)
    assert len(analysed) == len(docs)
    assert cached_search_files(docs, SHARD, tmp_path) == _cold(docs)
    assert len(analysed) == 2 * len(docs)  # the second: `_cold` above
    texts = [f"{doc.title}\n{doc.abstract}" for doc in docs]
    assert related == related_papers(list(zip(slugs, texts, strict=True)))


def test_the_shard_size_is_part_of_the_key(tmp_path: Path) -> None:
    docs = list(corpus_docs())
    cached_search_files(docs, SHARD, tmp_path)
    assert cached_search_files(docs, 7, tmp_path) == build_search_files(docs, shard_size=7)


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x55
    path.write_bytes(bytes(data))


def _reseal(value: object) -> Callable[[Path, str], None]:
    def damage(path: Path, key: str) -> None:
        cache.save(path.parent, path.stem, search_cache._seal(value, key))

    return damage


DAMAGES: dict[str, Callable[[Path, str], None]] = {
    "flipped byte": lambda path, key: _flip(path),
    "truncated": lambda path, key: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
    "garbage": lambda path, key: path.write_bytes(b"\x80\x05not a pickle"),
    "empty": lambda path, key: path.write_bytes(b""),
    "missing": lambda path, key: path.unlink(),
    "wrong shape": _reseal(("not", "a", "cache")),
    "wrong value": _reseal(["a list"]),
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_payload_cache_is_rebuilt(tmp_path: Path, damage: str) -> None:
    docs = list(corpus_docs())
    cached_search_files(docs, SHARD, tmp_path)
    DAMAGES[damage](tmp_path / f"{FILES}.pickle", payload_key(docs, SHARD))
    assert cached_search_files(docs, SHARD, tmp_path) == _cold(docs)


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_a_damaged_terms_cache_means_a_cold_analysis(
    tmp_path: Path, damage: str, analysed: list[SearchDoc]
) -> None:
    docs = list(corpus_docs())
    cached_search_files(docs[:200], SHARD, tmp_path)
    DAMAGES[damage](tmp_path / f"{TERMS}.pickle", TERMS)
    search_cache.forget()  # a new process: only the files on disk
    analysed.clear()
    files = cached_search_files(docs, SHARD, tmp_path)
    assert len(analysed) == len(docs)
    assert files == _cold(docs)


def test_a_terms_cache_that_does_not_add_up_is_ignored(tmp_path: Path) -> None:
    docs = list(corpus_docs())
    cached_search_files(docs[:100], SHARD, tmp_path)
    memo = load_memo(tmp_path)
    assert len(memo.keys) == 100
    value = (memo.vocab.terms, memo.keys[:-1], memo.table)  # one key short of the table
    cache.save(tmp_path, TERMS, search_cache._seal(value, TERMS))
    search_cache.forget()
    assert load_memo(tmp_path).keys == []
    assert cached_search_files(docs, SHARD, tmp_path) == _cold(docs)


def test_only_current_documents_are_kept_and_unused_terms_dropped(tmp_path: Path) -> None:
    docs = list(corpus_docs())
    cached_search_files(docs, SHARD, tmp_path)
    everything = len(load_memo(tmp_path).vocab.terms)
    few = docs[:10]
    cached_search_files(few, SHARD, tmp_path)
    memo = load_memo(tmp_path)
    assert len(memo.keys) == len(few)
    assert len(memo.vocab.terms) < everything // 2  # renumbered to the terms still used
    assert cached_search_files(docs, SHARD, tmp_path) == _cold(docs)


def test_term_ids_never_change_the_output() -> None:
    docs = list(corpus_docs())
    warm = SearchMemo()
    build_search_files(docs, shard_size=SHARD, memo=warm)
    terms = warm.vocab.terms + ["zzz-unused", "aaa-unused"]
    random.Random(3).shuffle(terms)
    shuffled = SearchMemo(vocab=Vocabulary.of(terms))
    assert build_search_files(docs, shard_size=SHARD, memo=shuffled) == _cold(docs)


def test_the_memo_pickles_compactly() -> None:
    memo = SearchMemo()
    docs = list(corpus_docs())
    build_search_files(docs, shard_size=SHARD, memo=memo)
    data = pickle.dumps((memo.vocab.terms, memo.keys, memo.table), protocol=5)
    assert len(data) < 2500 * len(docs)


def test_large_values_survive_the_compact_cache(tmp_path: Path) -> None:
    many = " ".join(f"w{i}x" for i in range(70_000))  # term ids beyond 16 bits
    docs = [
        SearchDoc("papers/long.html", "pruning " * 20_000 + "end", "sparse " * 300),  # starts, tf
        SearchDoc("papers/many.html", "Many words", many),
        *corpus_docs()[:20],
    ]
    cached_search_files(docs[:2], SHARD, tmp_path)
    search_cache.forget()  # read the narrowed table back from disk
    memo = load_memo(tmp_path)
    assert len(memo.vocab.terms) > 1 << 16
    assert cached_search_files(docs, SHARD, tmp_path) == _cold(docs)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.int64])
def test_distinct_matches_numpy_unique(dtype: type) -> None:
    rng = np.random.default_rng(7)
    for size in (0, 1, 2, 3, 50, 5000):
        values = rng.integers(0, 40, size).astype(dtype)
        got, want = distinct(values), np.unique(values)
        assert got.dtype == want.dtype
        assert got.tolist() == want.tolist()
