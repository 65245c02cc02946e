"""Search payload cache in `.survey-cache/`: analysed documents and the last payload.

`search-terms` keeps a `SearchMemo`: the analysed documents of the last build as a table
(term ids, frequencies, shipped starts) with their `analysis_key`s and the vocabulary of
their ids, so a build analyses only new or edited documents; corpus statistics and shards
are still recomputed from all of them, exactly as a cold build does. `search-files` keeps
the last payload under the key of everything it was built from, so a build whose documents
did not change reuses it whole.

Both are sealed with a digest of their pickled content: a missing, stale or damaged file is
an empty cache, and the payload comes out byte-identical either way.
"""

from __future__ import annotations

import gc
import hashlib
import pickle
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import cache
from .search import (
    FORMAT,
    SearchDoc,
    SearchMemo,
    analysis_key,
    build_search_files,
    order_docs,
    related_by_terms,
)
from .search_postings import DocTable, Vocabulary, distinct

TERMS = "search-terms"
FILES = "search-files"


def ranked_related(
    docs: Sequence[SearchDoc], slugs: Sequence[str], k: int, cache_dir: Path
) -> dict[str, tuple[str, ...]]:
    """Rank related papers on the documents' index terms; keep their analysis for the payload."""
    with _collector_paused():
        return related_by_terms(docs, slugs, k, load_memo(cache_dir))


def cached_search_files(
    docs: Sequence[SearchDoc], shard_size: int, cache_dir: Path
) -> dict[str, bytes]:
    """Return the search payload, reusing what earlier builds left in `cache_dir`."""
    with _collector_paused():
        key = payload_key(docs, shard_size)
        files = _unseal(cache.load(cache_dir, FILES), key)
        if isinstance(files, dict):
            return files
        memo = load_memo(cache_dir)
        files = build_search_files(docs, shard_size=shard_size, memo=memo)
        save_memo(cache_dir, memo)
        cache.save(cache_dir, FILES, _seal(files, key))
        return files


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector, whose full passes over a big site cost more
    than this step's own work; nothing made here forms cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def payload_key(docs: Sequence[SearchDoc], shard_size: int) -> str:
    """Return the key of a payload: its documents in refs order, shard size and format."""
    ordered = order_docs(docs)
    rows = [(analysis_key(d), d.url, d.year, d.date_label, d.date_iso) for d in ordered]
    return cache.content_key(FORMAT, shard_size, rows)


def _seal(value: Any, key: str) -> dict[str, Any]:
    """Return a value pickled, with its key and the digest of the pickle."""
    data = pickle.dumps(value, protocol=5)
    return {"key": key, "digest": hashlib.sha256(data).hexdigest(), "data": data}


def _unseal(sealed: dict, key: str) -> Any:
    """Return a sealed value if it has this key and is intact, else None."""
    data = sealed.get("data")
    if sealed.get("key") != key or not isinstance(data, bytes):
        return None
    if hashlib.sha256(data).hexdigest() != sealed.get("digest"):
        return None
    try:
        return pickle.loads(data)  # noqa: S301 - our own private cache file, checked above
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError):
        return None  # e.g. written under another numpy


_HELD: dict[Path, SearchMemo] = {}


def load_memo(cache_dir: Path) -> SearchMemo:
    """Return the documents analysed so far: held by this process, or by the last build."""
    memo = _HELD.get(cache_dir)
    if memo is None:
        memo = _HELD[cache_dir] = _read_memo(cache_dir)
    return memo


def _read_memo(cache_dir: Path) -> SearchMemo:
    """Return the documents analysed by the last build, or an empty memo."""
    value = _unseal(cache.load(cache_dir, TERMS), TERMS)
    try:
        terms, keys, table = value
    except (TypeError, ValueError):
        return SearchMemo()
    if not (isinstance(table, DocTable) and isinstance(keys, list) and len(keys) == len(table)):
        return SearchMemo()
    return SearchMemo(vocab=Vocabulary.of(terms), keys=keys, table=table)


def save_memo(cache_dir: Path, memo: SearchMemo) -> None:
    """Save the documents the last build used, if it added or dropped any."""
    kept = distinct(memo.used)
    if not memo.added and len(kept) == len(memo.keys):
        return
    vocab, table = memo.vocab, memo.table.take(kept)
    if 2 * memo.live_terms < len(vocab.terms):  # mostly terms of documents now gone
        vocab, new_id = vocab.compacted(table.used_ids())
        table = table.renumbered(new_id)
    keys = [memo.keys[i] for i in kept.tolist()]
    cache.save(cache_dir, TERMS, _seal((vocab.terms, keys, table.narrowed()), TERMS))
    _HELD[cache_dir] = SearchMemo(vocab=vocab, keys=keys, table=table)


def forget() -> None:
    """Drop the analyses held in memory (the cache files stay)."""
    _HELD.clear()
