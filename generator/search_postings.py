"""Postings of the search shards, encoded with whole-array operations.

Documents arrive analysed and packed (`PackedDoc`): per field, the ids of their distinct
terms in a `Vocabulary`, term frequencies, and the token starts worth shipping, as arrays of
unsigned ints. Each field of the whole corpus becomes one table with a row per (document,
distinct term), document-major (`FieldRows`); a shard is then a contiguous range of rows,
and its posting and position streams (see SHARD FORMAT in `search.py`) come out of a stable
sort by term and a few vector operations instead of a Python loop per posting.

Term ids are arbitrary (they only have to be stable while a cache keeps packed documents);
term order is always recomputed from the term text, so ids never change a byte of output.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

TYPECODE = "I"  # array's C unsigned int, the same as numpy's uintc
UINT = np.uintc


def pack(values: Iterable[int]) -> bytes:
    """Return unsigned ints as the bytes of a packed array."""
    return array(TYPECODE, values).tobytes()


def unpack(blobs: Iterable[bytes]) -> np.ndarray:
    """Return packed arrays joined into one int64 array."""
    return np.frombuffer(b"".join(blobs), dtype=UINT).astype(np.int64)


@dataclass
class Vocabulary:
    """Every term met so far, each with a small integer id (its position in `terms`)."""

    terms: list[str] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, terms: list[str]) -> Vocabulary:
        """Rebuild a vocabulary from its term list."""
        return cls(terms, {term: i for i, term in enumerate(terms)})

    def id_of(self, term: str) -> int:
        """Return a term's id, adding the term if it is new."""
        found = self.ids.get(term)
        if found is None:
            found = self.ids[term] = len(self.terms)
            self.terms.append(term)
        return found

    def pack_terms(self, terms: Iterable[str]) -> bytes:
        """Return the ids of some terms, packed."""
        return pack(map(self.id_of, terms))

    def ranks(self, sort_key: Callable[[str], object]) -> tuple[np.ndarray, list[str]]:
        """Return each id's rank in term order and the terms in that order."""
        ordered = sorted(range(len(self.terms)), key=lambda i: sort_key(self.terms[i]))
        rank = np.empty(len(ordered), dtype=np.int64)
        rank[ordered] = np.arange(len(ordered))
        return rank, [self.terms[i] for i in ordered]


@dataclass(frozen=True)
class PackedDoc:
    """One document analysed: display texts, lengths, and per field its packed terms."""

    title: str
    excerpt: str
    lengths: tuple[int, ...]  # per field: length in terms
    ids: tuple[bytes, ...]  # per field: distinct term ids
    tfs: tuple[bytes, ...]  # per field: frequency of each term
    kept: tuple[bytes, ...]  # per field: how many starts of each term ship (b"": none)
    starts: tuple[bytes, ...]  # per field: the shipped starts, term after term

    def to_tuple(self) -> tuple:
        """Return the document as a plain tuple, which pickles compactly."""
        return (self.title, self.excerpt, self.lengths, self.ids, self.tfs, self.kept, self.starts)


@dataclass(frozen=True)
class FieldRows:
    """One field over all documents: a row per (document, distinct term), document-major."""

    first_row: np.ndarray  # per document, then the total: number of its first row
    term: np.ndarray  # per row: term rank
    tf: np.ndarray  # per row: term frequency
    kept: np.ndarray | None  # per row: number of shipped starts (None: the field ships none)
    first_start: np.ndarray | None  # per row: index of its first start in `starts`
    starts: np.ndarray | None  # shipped starts, delta-coded from 0 within each row


def field_rows(docs: Sequence[PackedDoc], f: int, rank: np.ndarray) -> FieldRows:
    """Gather field number f of every document into one table of rows."""
    sizes = np.fromiter((len(d.ids[f]) for d in docs), dtype=np.int64, count=len(docs))
    first_row = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum(sizes // UINT().itemsize, out=first_row[1:])
    term = rank[unpack(d.ids[f] for d in docs)]
    tf = unpack(d.tfs[f] for d in docs)
    if not any(d.kept[f] for d in docs):
        return FieldRows(first_row, term, tf, None, None, None)
    kept = unpack(d.kept[f] or bytes(len(d.ids[f])) for d in docs)
    first_start = np.cumsum(kept) - kept
    return FieldRows(first_row, term, tf, kept, first_start, _delta_starts(unpack(
        d.starts[f] for d in docs), first_start[kept > 0]))  # fmt: skip


def _delta_starts(starts: np.ndarray, group_heads: np.ndarray) -> np.ndarray:
    """Delta-code starts within each group (a row's starts), the first from 0."""
    out = starts.copy()
    out[1:] -= starts[:-1]
    out[group_heads] = starts[group_heads]
    return out


def document_frequencies(fields: Sequence[FieldRows], size: int) -> np.ndarray:
    """Count, per term rank, the (document, field) pairs holding the term."""
    df = np.zeros(size, dtype=np.int64)
    for rows in fields:
        df += np.bincount(rows.term, minlength=size)
    return df


def shard_terms(fields: Sequence[FieldRows], start: int, stop: int, size: int) -> np.ndarray:
    """Return the ranks of the terms of documents [start, stop), ascending."""
    present = np.zeros(size, dtype=bool)
    for rows in fields:
        present[rows.term[rows.first_row[start] : rows.first_row[stop]]] = True
    return np.flatnonzero(present)


@dataclass(frozen=True)
class _Sorted:
    """A shard's rows of one field in stream order: by term, then document."""

    rows: np.ndarray  # row numbers in the field's table
    term: np.ndarray  # shard-local term numbers
    doc: np.ndarray  # shard-local document numbers


def _stream_order(rows: FieldRows, start: int, stop: int, local: np.ndarray) -> _Sorted:
    """Sort a shard's rows by term; a stable sort keeps documents ascending."""
    lo, hi = rows.first_row[start], rows.first_row[stop]
    terms = local[rows.term[lo:hi]]
    order = np.argsort(terms, kind="stable")
    docs = np.repeat(np.arange(stop - start), np.diff(rows.first_row[start : stop + 1]))
    return _Sorted(order + lo, terms[order], docs[order])


def _postings(rows: FieldRows, s: _Sorted) -> np.ndarray:
    """Encode the posting stream: per term, its delta, count, then document deltas."""
    count = len(s.term)
    heads = np.ones(count, dtype=bool)
    heads[1:] = s.term[1:] != s.term[:-1]
    previous = np.empty(count, dtype=np.int64)
    previous[1:] = s.doc[:-1]
    previous[heads] = -1
    delta = s.doc - previous
    tf = rows.tf[s.rows]
    multi = tf > 1
    width = 1 + multi + 2 * heads  # a term's header goes before its first posting
    begin = np.cumsum(width) - width
    out = np.empty(int(width.sum()), dtype=np.int64)
    head_at = begin[heads]
    out[head_at] = np.diff(s.term[heads], prepend=-1)
    out[head_at + 1] = np.diff(np.append(np.flatnonzero(heads), count))
    at = begin + 2 * heads
    out[at] = np.where(multi, -delta, delta)
    out[at[multi] + 1] = tf[multi]
    return out


def _positions(rows: FieldRows, s: _Sorted) -> np.ndarray:
    """Encode the position stream: per posting with starts, its delta, count, then starts."""
    if rows.kept is None:
        return np.empty(0, dtype=np.int64)
    kept = rows.kept[s.rows]
    entries = np.flatnonzero(kept)
    counts = kept[entries]
    width = 2 + counts
    begin = np.cumsum(width) - width
    out = np.empty(int(width.sum()), dtype=np.int64)
    out[begin] = np.diff(entries, prepend=-1)
    out[begin + 1] = counts
    before = np.cumsum(counts) - counts  # starts of earlier postings, to offset `within`
    within = np.arange(int(counts.sum())) - np.repeat(before, counts)
    sources = np.repeat(rows.first_start[s.rows[entries]], counts) + within
    out[np.repeat(begin + 2, counts) + within] = rows.starts[sources]
    return out


def encode_field(
    rows: FieldRows, start: int, stop: int, local: np.ndarray
) -> tuple[list[int], list[int]]:
    """Return the posting and position streams of one field for documents [start, stop)."""
    s = _stream_order(rows, start, stop, local)
    return _postings(rows, s).tolist(), _positions(rows, s).tolist()
