"""Analysed documents as columns, and the shards' postings encoded with array operations.

A `DocTable` holds analysed documents column-wise: display texts, field lengths, and per
field a table with a row per (document, distinct term) (`FieldColumns`): the term's id in a
`Vocabulary`, its frequency and the token starts that ship. Tables pickle compactly and are
cheap to cut by document (`take`) and to extend (`concat`), which is what the search cache
needs. For a build, each field becomes `FieldRows` (ids replaced by ranks in shipped term
order); a shard is a contiguous range of rows, and its posting and position streams (see
SHARD FORMAT in `search.py`) come out of a stable sort by term and a few vector operations
instead of a Python loop per posting.

Term ids are arbitrary (they only have to be stable while a cache keeps a table); term
order is always recomputed from the term text, so ids never change a byte of output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain

import numpy as np

STORED = np.uint32  # ids, frequencies and starts as kept in tables (int64 while encoding)


@dataclass(frozen=True)
class FieldTerms:
    """One field analysed: its length in terms, term frequencies, and shipped term starts.

    Both mappings list terms in order of first occurrence, so `starts` is a prefix of `tf`.
    """

    length: int
    tf: dict[str, int]
    starts: dict[str, list[int]]  # only tokens starting at or before `positions_until`


@dataclass(frozen=True)
class AnalyzedDoc:
    """One document analysed: the texts a result shows, and its fields' terms."""

    title: str
    excerpt: str
    fields: tuple[FieldTerms, ...]


# ---------------------------------------------------------------- vocabulary


@dataclass
class Vocabulary:
    """Every term met so far, each with a small integer id (its position in `terms`)."""

    terms: list[str] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, terms: list[str]) -> Vocabulary:
        """Rebuild a vocabulary from its term list."""
        return cls(terms, {term: i for i, term in enumerate(terms)})

    def ids_of(self, terms: Iterable[str]) -> np.ndarray:
        """Return the ids of some terms, adding the new ones."""
        terms = list(terms)
        new = [term for term in dict.fromkeys(terms) if term not in self.ids]
        self.ids.update(zip(new, range(len(self.terms), len(self.terms) + len(new)), strict=True))
        self.terms += new
        return np.array(list(map(self.ids.__getitem__, terms)), dtype=STORED)

    def ranks(self, sort_key: Callable[[str], object]) -> tuple[np.ndarray, list[str]]:
        """Return each id's rank in term order and the terms in that order."""
        ordered = sorted(range(len(self.terms)), key=lambda i: sort_key(self.terms[i]))
        rank = np.empty(len(ordered), dtype=np.int64)
        rank[ordered] = np.arange(len(ordered))
        return rank, [self.terms[i] for i in ordered]

    def compacted(self, used: np.ndarray) -> tuple[Vocabulary, np.ndarray]:
        """Return a vocabulary of the used ids only, and each old id's new id."""
        new_id = np.zeros(len(self.terms), dtype=STORED)
        new_id[used] = np.arange(len(used))
        return Vocabulary.of([self.terms[i] for i in used.tolist()]), new_id


# ---------------------------------------------------------------- tables


def distinct(values: np.ndarray) -> np.ndarray:
    """Return the distinct values, ascending.

    Same as `np.unique(values)`, which imports numpy's masked arrays (35 ms) on first use.
    """
    ordered = np.sort(values)
    keep = np.ones(len(ordered), dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _firsts(sizes: Iterable[int]) -> np.ndarray:
    """Return where each of some consecutive runs begins, then the total."""
    return np.concatenate(([0], np.cumsum(np.fromiter(sizes, dtype=np.int64))))


def _spans(firsts: np.ndarray, picks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the picked runs' new `firsts` and the indices of their elements."""
    sizes = firsts[picks + 1] - firsts[picks]
    out = np.concatenate(([0], np.cumsum(sizes)))
    return out, np.repeat(firsts[picks] - out[:-1], sizes) + np.arange(out[-1])


def _joined(parts: Sequence[np.ndarray]) -> np.ndarray:
    """Return the `firsts` of consecutive runs of several tables as one."""
    shifts = np.cumsum([0] + [int(part[-1]) for part in parts[:-1]])
    return np.concatenate([[0]] + [p[1:] + s for p, s in zip(parts, shifts, strict=True)])


def _kept_counts(terms: FieldTerms) -> list[int]:
    """Return how many starts ship for each term of a field (the first ones have some)."""
    counts = list(map(len, terms.starts.values()))
    return counts + [0] * (len(terms.tf) - len(counts))


@dataclass(frozen=True)
class FieldColumns:
    """One field of some documents: a row per (document, distinct term), document-major."""

    first_row: np.ndarray  # per document, then the total: its first row
    ids: np.ndarray  # per row: term id
    tf: np.ndarray  # per row: term frequency
    kept: np.ndarray  # per row: how many of its token starts ship
    first_start: np.ndarray  # per document, then the total: its first start
    starts: np.ndarray  # shipped starts (code points), row after row

    @classmethod
    def of(cls, fields: Sequence[FieldTerms], vocab: Vocabulary) -> FieldColumns:
        """Tabulate one field of some analysed documents."""
        kept = [_kept_counts(terms) for terms in fields]
        starts = [list(chain.from_iterable(terms.starts.values())) for terms in fields]
        return cls(
            first_row=_firsts(len(terms.tf) for terms in fields),
            ids=vocab.ids_of(chain.from_iterable(terms.tf for terms in fields)),
            tf=_stored(chain.from_iterable(terms.tf.values() for terms in fields)),
            kept=_stored(chain.from_iterable(kept)),
            first_start=_firsts(map(len, starts)),
            starts=_stored(chain.from_iterable(starts)),
        )

    def take(self, picks: np.ndarray) -> FieldColumns:
        """Return the rows of the picked documents, in that order."""
        first_row, rows = _spans(self.first_row, picks)
        first_start, starts = _spans(self.first_start, picks)
        return FieldColumns(
            first_row,
            self.ids[rows],
            self.tf[rows],
            self.kept[rows],
            first_start,
            self.starts[starts],
        )

    def narrowed(self) -> FieldColumns:
        """Return the columns in the smallest unsigned types holding them."""
        small = {name: _smallest(getattr(self, name)) for name in ("ids", "tf", "kept", "starts")}
        return replace(self, **small)

    @classmethod
    def concat(cls, parts: Sequence[FieldColumns]) -> FieldColumns:
        """Return the rows of several tables, one after the other."""
        return cls(
            first_row=_joined([p.first_row for p in parts]),
            ids=np.concatenate([p.ids for p in parts]),
            tf=np.concatenate([p.tf for p in parts]),
            kept=np.concatenate([p.kept for p in parts]),
            first_start=_joined([p.first_start for p in parts]),
            starts=np.concatenate([p.starts for p in parts]),
        )


def _stored(values: Iterable[int]) -> np.ndarray:
    """Return ints as an array of the stored type."""
    return np.array(list(values), dtype=STORED)


def _smallest(values: np.ndarray) -> np.ndarray:
    """Return unsigned ints in the smallest type that holds them (for a compact cache)."""
    top = int(values.max()) if values.size else 0
    for dtype in (np.uint8, np.uint16):
        if top <= np.iinfo(dtype).max:
            return values.astype(dtype)
    return values


@dataclass(frozen=True)
class DocTable:
    """Analysed documents as columns."""

    titles: list[str]
    excerpts: list[str]
    lengths: np.ndarray  # (documents, fields): field lengths in terms
    fields: tuple[FieldColumns, ...]

    @classmethod
    def of(cls, docs: Sequence[AnalyzedDoc], vocab: Vocabulary, width: int) -> DocTable:
        """Tabulate analysed documents of `width` fields, giving their terms ids in `vocab`."""
        lengths = [terms.length for doc in docs for terms in doc.fields]
        return cls(
            titles=[doc.title for doc in docs],
            excerpts=[doc.excerpt for doc in docs],
            lengths=np.array(lengths, dtype=np.int64).reshape(len(docs), width),
            fields=tuple(
                FieldColumns.of([doc.fields[f] for doc in docs], vocab) for f in range(width)
            ),
        )

    def __len__(self) -> int:
        return len(self.titles)

    def take(self, picks: np.ndarray) -> DocTable:
        """Return the picked documents (by number), in that order."""
        if len(picks) == len(self) and np.array_equal(picks, np.arange(len(self))):
            return self
        listed = picks.tolist()
        return DocTable(
            titles=[self.titles[i] for i in listed],
            excerpts=[self.excerpts[i] for i in listed],
            lengths=self.lengths[picks],
            fields=tuple(columns.take(picks) for columns in self.fields),
        )

    def concat(self, other: DocTable) -> DocTable:
        """Return this table's documents followed by another's."""
        fields = zip(self.fields, other.fields, strict=True)
        return DocTable(
            titles=self.titles + other.titles,
            excerpts=self.excerpts + other.excerpts,
            lengths=np.concatenate([self.lengths, other.lengths]),
            fields=tuple(FieldColumns.concat(pair) for pair in fields),
        )

    def renumbered(self, new_id: np.ndarray) -> DocTable:
        """Return the table with its term ids mapped through `new_id`."""
        return replace(self, fields=tuple(replace(c, ids=new_id[c.ids]) for c in self.fields))

    def narrowed(self) -> DocTable:
        """Return the table with each column in the smallest unsigned type holding it."""
        return replace(self, fields=tuple(columns.narrowed() for columns in self.fields))

    def used_ids(self) -> np.ndarray:
        """Return the term ids the documents use, ascending."""
        return distinct(np.concatenate([columns.ids for columns in self.fields]))


# ---------------------------------------------------------------- encoding


@dataclass(frozen=True)
class FieldRows:
    """A field's table ready to encode: term ranks and starts as delta-coded int64."""

    first_row: np.ndarray  # per document, then the total: its first row
    term: np.ndarray  # per row: term rank
    tf: np.ndarray  # per row: term frequency
    kept: np.ndarray  # per row: how many starts ship
    first_start: np.ndarray  # per row: index of its first start
    starts: np.ndarray  # shipped starts, delta-coded from 0 within each row

    @classmethod
    def of(cls, columns: FieldColumns, rank: np.ndarray) -> FieldRows:
        """Prepare a field's table for encoding, with terms as their ranks."""
        kept = columns.kept.astype(np.int64)
        first_start = np.cumsum(kept) - kept
        starts = columns.starts.astype(np.int64)
        deltas = starts.copy()
        deltas[1:] -= starts[:-1]
        heads = first_start[kept > 0]
        deltas[heads] = starts[heads]
        tf = columns.tf.astype(np.int64)
        return cls(columns.first_row, rank[columns.ids], tf, kept, first_start, deltas)


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


def _narrow(values: np.ndarray) -> np.ndarray:
    """Return small non-negative ints as uint16, which numpy sorts stably by radix."""
    if values.size and values.max() >= 1 << 16:
        return values
    return values.astype(np.uint16)


def _stream_order(rows: FieldRows, start: int, stop: int, local: np.ndarray) -> _Sorted:
    """Sort a shard's rows by term; a stable sort keeps documents ascending."""
    lo, hi = rows.first_row[start], rows.first_row[stop]
    terms = local[rows.term[lo:hi]]
    order = np.argsort(_narrow(terms), kind="stable")
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
