"""Related papers: TF-IDF cosine similarity over a pruned inverted index.

A document is represented by its TOP_TERMS heaviest sublinear TF-IDF terms, and a term links
it to at most MAX_POSTINGS holders of the term. Its related papers are the `k` others with the
highest dot product, rounded to SCORE_DIGITS, ties going to the smaller slug.

Its terms are the search index's (`terms.py`) less stop words, numbers and one-letter terms.
`related_papers` analyses texts; a build ranks on the analysis the index makes anyway, with
the same result (`related_from_counts`).

Small corpora are ranked in pure Python. From NUMPY_MIN documents on, numpy (imported only
then) does the same arithmetic on arrays, a block of documents at a time, and the output is
the same: every weight and product is the same IEEE operation on the same operands, every
score is the same sequence of additions from 0.0 in the same order (np.bincount adds in array
order), norms are summed by Python's sum(), and scores are rounded by Python's round() before
they are compared, as in `_top`. The tests check both paths against each other bit for bit.
"""

from __future__ import annotations

import heapq
import itertools
import math
import os
import random
import sys
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from . import parallel
from .terms import index_term, index_terms, normalize_text

if TYPE_CHECKING:
    import numpy as np

TOP_TERMS = 32  # each document is represented by its highest-weighted terms
MAX_POSTINGS = 50  # a term links a document to at most this many heaviest holders of it
MAX_DF = 0.25  # terms in more than this share of documents carry no signal...
MIN_DF_CUTOFF = 25  # ...unless the corpus is so small that a share means a handful
MIN_LENGTH = 2
SCORE_DIGITS = 9  # scores equal to this precision tie, and ties go to the smaller slug
NUMPY_MIN = 1000  # rank with numpy from this many documents on (importing it costs ~0.1 s)
PARALLEL_MIN = 20_000  # ...and split the ranking over the cores from this many on
BLOCK_CELLS = 1 << 21  # documents scored at once times corpus size: bounds scratch memory
BLOCK_ROWS = 48  # documents scored at once at most: their scratch arrays stay in cache
RANK_ROWS = 2048  # documents ranked at once
COUNT_BLOCK = 4096  # documents tokenized per numpy batch
PACK_BITS = 63  # integer columns this wide in all are sorted as one int64
PREFILTER = 64  # a row's first scores that bound its k-th best from below
GRID_WIDTH = 256  # rows with more scores find their k-th best one by one

STOP_WORDS = frozenset(
    """
    a about above across after afterwards again against all almost alone along already also
    although always am among amongst an and another any anyhow anyone anything anyway anywhere
    are around as at be became because become becomes becoming been before beforehand behind
    being below beside besides between beyond both but by can cannot could did do does doing
    done down due during each eg either else elsewhere enough etc even ever every everyone
    everything everywhere except few for former formerly from further had has have having he
    hence her here hereafter hereby herein hereupon hers herself him himself his how however i
    ie if in indeed into is it its itself just last latter latterly least less made many may me
    meanwhile might more moreover most mostly much must my myself namely neither never
    nevertheless next no nobody none noone nor not nothing now nowhere of off often on once one
    only onto or other others otherwise our ours ourselves out over own per perhaps please
    rather re same seem seemed seeming seems several she should since so some somehow someone
    something sometime sometimes somewhere still such than that the their theirs them
    themselves then thence there thereafter thereby therefore therein thereupon these they this
    those though through throughout thru thus to together too toward towards under until up
    upon us use used uses using very via was we well were what whatever when whence whenever
    where whereafter whereas whereby wherein whereupon wherever whether which while whither who
    whoever whole whom whose why will with within without would yet you your yours yourself
    yourselves
    """.split()
)


def _stop_terms() -> frozenset[str]:
    """Return the index terms of the stop words (stems: `use`, `used` and `using` are `us`)."""
    return frozenset(term for word in STOP_WORDS if (term := index_term(word)) is not None)


_STOP_TERMS = _stop_terms()


def weighed(term: str | None) -> bool:
    """Tell whether related papers weigh an index term: not a stop word, number or letter."""
    return (
        term is not None
        and len(term) >= MIN_LENGTH
        and not term.isdigit()
        and term not in _STOP_TERMS
    )


def tokens(text: str) -> list[str]:
    """Return the terms of `text` that related papers weigh, in order.

    They are its search index terms (see `terms.py`: lowercased, split at whitespace and
    hyphens, trimmed, stemmed) less stop words, numbers and one-letter terms.
    """
    return [term for term in index_terms(normalize_text(text).lower()) if weighed(term)]


def _chunks(text: str) -> list[str]:
    """Split a text, normalized and lowercased, at whitespace (where no token spans)."""
    return normalize_text(text).lower().split()


def _chunk_terms(chunk: str) -> tuple[str, ...]:
    """Return the weighed terms of one chunk, in order."""
    return tuple(filter(weighed, index_terms(chunk)))


def _term_counts(text: str, cache: dict[str, tuple[str, ...]]) -> Counter[str]:
    """Count the terms of `text`, in order of first use, as `tokens` finds them.

    Each whitespace-separated chunk is tokenized once per corpus (`cache` maps chunk ->
    terms) and the chunks' terms, chained, are the text's terms in order.
    """
    chunks = _chunks(text)
    for chunk in set(chunks).difference(cache):
        cache[chunk] = _chunk_terms(chunk)
    return Counter(itertools.chain.from_iterable(map(cache.__getitem__, chunks)))


def related_papers(
    docs: Sequence[tuple[str, str]], k: int = 5, numpy_imported: bool = False
) -> dict[str, tuple[str, ...]]:
    """Return, for each slug, up to `k` other slugs with the most similar text, best first.

    `numpy_imported` says the caller has imported numpy already: then even a small corpus is
    ranked with it (same results), since its import is what NUMPY_MIN saves.
    """
    ordered = sorted(docs, key=lambda doc: doc[0])  # results must not depend on input order
    slugs = [slug for slug, _ in ordered]
    if len(set(slugs)) != len(slugs):
        raise ValueError("related_papers: duplicate slugs")
    texts = [text for _, text in ordered]
    rank = _numpy_ranking if numpy_imported or len(texts) >= NUMPY_MIN else _python_ranking
    found = dict(zip(slugs, rank(texts, slugs, k), strict=True))
    return {slug: found[slug] for slug, _ in docs}


# The pure-Python path.


def _python_ranking(texts: Sequence[str], slugs: Sequence[str], k: int) -> list[tuple[str, ...]]:
    """Rank every document's neighbours in pure Python (the faster path for small corpora)."""
    cache: dict[str, tuple[str, ...]] = {}
    vectors = _vectors([_term_counts(text, cache) for text in texts])
    index = _index(vectors)
    return [_top(i, _scores(terms, index), slugs, k) for i, terms in enumerate(vectors)]


def _vectors(term_counts: Sequence[Counter[str]]) -> list[list[tuple[str, float]]]:
    """Return each document's top sublinear TF-IDF terms, weighted as in the unit vector.

    Terms in more than MAX_DF of the documents are dropped like stop words; terms in only
    one document count towards the norm but are not kept, since no other document has them.
    """
    n = len(term_counts)
    df: Counter[str] = Counter()
    for counts in term_counts:
        df.update(counts.keys())
    cutoff = max(MIN_DF_CUTOFF, MAX_DF * n)
    idf = {t: math.log((1 + n) / (1 + d)) + 1 for t, d in df.items() if d <= cutoff}
    tf = [0.0] + [_tf(c) for c in range(1, 64)]
    vectors = []
    for counts in term_counts:
        raw = [((tf[c] if c < 64 else _tf(c)) * idf[t], t) for t, c in counts.items() if t in idf]
        norm = math.sqrt(sum(w * w for w, _ in raw)) or 1.0
        top = heapq.nlargest(TOP_TERMS, [(w, t) for w, t in raw if df[t] > 1])
        vectors.append([(t, w / norm) for w, t in top])
    return vectors


def _tf(count: int) -> float:
    """Return the sublinear term frequency."""
    return 1 + math.log(count)


def _index(vectors: Sequence[list[tuple[str, float]]]) -> dict[str, tuple[list[int], list[float]]]:
    """Return term -> (doc numbers, weights), each cut to the heaviest MAX_POSTINGS docs."""
    index: dict[str, tuple[list[int], list[float]]] = {}
    for i, terms in enumerate(vectors):
        for term, weight in terms:
            entry = index.get(term)
            if entry is None:
                index[term] = ([i], [weight])
            else:
                entry[0].append(i)
                entry[1].append(weight)
    for term, (numbers, weights) in index.items():
        if len(numbers) > MAX_POSTINGS:
            keep = sorted(
                heapq.nlargest(MAX_POSTINGS, range(len(numbers)), key=weights.__getitem__)
            )
            index[term] = ([numbers[p] for p in keep], [weights[p] for p in keep])
    return index


def _scores(
    terms: list[tuple[str, float]], index: dict[str, tuple[list[int], list[float]]]
) -> dict[int, float]:
    """Return doc number -> dot product with `terms`, for every document sharing a term."""
    scores: dict[int, float] = {}
    get = scores.get
    for term, weight in terms:
        numbers, weights = index[term]
        for j, other in zip(numbers, weights, strict=True):
            scores[j] = get(j, 0.0) + weight * other
    return scores


def _top(i: int, scores: dict[int, float], slugs: Sequence[str], k: int) -> tuple[str, ...]:
    """Return the slugs of the `k` best-scoring documents other than `i`."""
    scores.pop(i, None)
    if k <= 0 or not scores:
        return ()
    low = _lowest_candidate(heapq.nlargest(k, scores.values())[-1])
    return _best(((s, slugs[j]) for j, s in scores.items() if s >= low), k)


# Shared by both paths: whatever computed the scores, these decide the order.


def _lowest_candidate(kth: float) -> float:
    """Return the lowest raw score that can still rank, given the k-th best raw score."""
    floor = round(kth, SCORE_DIGITS)
    if floor <= 0:
        floor = 10.0**-SCORE_DIGITS
    return floor - 1e-9


def _best(candidates: Iterable[tuple[float, str]], k: int) -> tuple[str, ...]:
    """Return the slugs of the `k` best (score, slug) pairs: rounded score down, then slug."""
    rounded = sorted((-round(s, SCORE_DIGITS), slug) for s, slug in candidates)
    return tuple(slug for score, slug in rounded[:k] if score < 0)


# The numpy path: the same vectors, index and scores as compressed sparse rows (CSR).


class _Sparse(NamedTuple):
    """Rows of (column, value) pairs: row r holds cols[ptr[r]:ptr[r + 1]] and the same vals."""

    ptr: np.ndarray
    cols: np.ndarray
    vals: np.ndarray


class _Numbering(dict):
    """Key -> number, each new key numbered on first sight."""

    def __missing__(self, key: str) -> int:
        """Number a new key."""
        self[key] = number = len(self)
        return number


class _Vocabulary:
    """Whitespace-separated chunks and index terms, numbered on first sight."""

    def __init__(self) -> None:
        self.chunks = _Numbering()
        self.terms = _Numbering()
        self._ptr = array("q", [0])  # chunk c holds the terms _terms[_ptr[c]:_ptr[c + 1]]
        self._terms = array("i")

    def chunk_terms(self) -> tuple[np.ndarray, np.ndarray]:
        """Return every chunk's term numbers as CSR arrays, tokenizing the new chunks."""
        import numpy as np

        for chunk in list(self.chunks)[len(self._ptr) - 1 :]:
            self._terms.extend(map(self.terms.__getitem__, _chunk_terms(chunk)))
            self._ptr.append(len(self._terms))
        return np.array(self._ptr), np.array(self._terms)


def _numpy_ranking(texts: Sequence[str], slugs: Sequence[str], k: int) -> list[tuple[str, ...]]:
    """Rank every document's neighbours with numpy, exactly as `_python_ranking` does."""
    terms, counts = _count_blocks(texts)
    return _rank_counts(terms, counts, slugs, k)


def _rank_counts(
    terms: list[str], counts: list[_Sparse], slugs: Sequence[str], k: int
) -> list[tuple[str, ...]]:
    """Rank every document's neighbours from its term counts (blocks of CSR rows)."""
    vectors = _Weighting(terms, counts).vectors(counts)
    counts.clear()  # the caller's list too: its memory is free for the ranking
    if k <= 0:
        return [()] * len(slugs)
    _STATE.update(vectors=vectors, index=_posting_matrix(vectors, len(terms)), slugs=slugs, k=k)
    try:
        jobs = parallel.jobs_for(len(slugs), PARALLEL_MIN)
        parts = parallel.starmap(_rank_range, parallel.ranges(len(slugs), jobs), jobs)
    finally:
        _STATE.clear()
    return [item for part in parts for item in part]


def related_from_counts(
    slugs: Sequence[str],
    terms: Sequence[str],
    fields: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    k: int = 5,
) -> dict[str, tuple[str, ...]]:
    """Rank related papers on index terms counted already, field by field (by the search index).

    Documents come in slug order. Each field is CSR rows, one per document: (row pointers,
    term numbers into `terms`, counts), each row's terms in order of first use, as `tokens`
    finds them before dropping the terms not weighed. A document's text is its fields
    joined: the result equals `related_papers` on those texts.
    """
    import numpy as np

    if any(a >= b for a, b in itertools.pairwise(slugs)):
        raise ValueError("related_from_counts: slugs must be unique and sorted")
    weigh = np.zeros(len(terms), dtype=bool)
    for field in fields:
        weigh[field[1]] = True
    present = np.flatnonzero(weigh)  # numbers of the terms these documents use
    weigh[present] = [weighed(terms[i]) for i in present.tolist()]
    blocks = [
        _joined_fields(fields, first, min(first + COUNT_BLOCK, len(slugs)), weigh)
        for first in range(0, len(slugs), COUNT_BLOCK)
    ]
    used = np.zeros(len(terms), dtype=bool)
    for block in blocks:
        used[block.cols] = True
    number = np.cumsum(used) - 1  # the used terms, numbered in their order in `terms`
    counts = [block._replace(cols=number[block.cols]) for block in blocks]
    names = [terms[i] for i in np.flatnonzero(used).tolist()]
    return dict(zip(slugs, _rank_counts(names, counts, slugs, k), strict=True))


def _joined_fields(
    fields: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    first: int,
    stop: int,
    weigh: np.ndarray,
) -> _Sparse:
    """Return the weighed term counts of documents first..stop, their fields joined."""
    import numpy as np

    docs, terms, counts = [], [], []
    for ptr, cols, vals in fields:
        rows = slice(int(ptr[first]), int(ptr[stop]))
        docs.append(_row_numbers(ptr[first : stop + 1] - ptr[first]))
        terms.append(cols[rows].astype(np.intp))
        counts.append(vals[rows].astype(np.intp))
    order = np.argsort(np.concatenate(docs), kind="stable")  # a document's fields in order
    docs, terms, counts = (np.concatenate(parts)[order] for parts in (docs, terms, counts))
    kept = weigh[terms]
    return _counted(docs[kept], terms[kept], stop - first, counts[kept])


def _count_blocks(texts: Sequence[str]) -> tuple[list[str], list[_Sparse]]:
    """Return the vocabulary and each text's term counts, in blocks of COUNT_BLOCK texts."""
    vocabulary = _Vocabulary()
    blocks = [
        _count_block(texts[first : first + COUNT_BLOCK], vocabulary)
        for first in range(0, len(texts), COUNT_BLOCK)
    ]
    return list(vocabulary.terms), blocks


def _count_block(texts: Sequence[str], vocabulary: _Vocabulary) -> _Sparse:
    """Return the term numbers and counts of each text, terms in order of first use."""
    import numpy as np

    chunks: list[int] = []
    ends = [0]
    number = vocabulary.chunks.__getitem__
    for text in texts:
        chunks += map(number, _chunks(text))
        ends.append(len(chunks))
    ptr, terms = vocabulary.chunk_terms()
    chunk = np.array(chunks, dtype=np.intp)
    lengths = ptr[chunk + 1] - ptr[chunk]
    docs = np.repeat(_row_numbers(np.array(ends)), lengths)
    return _counted(docs, terms[_spans(ptr[chunk], lengths)], len(texts))


def _spans(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Return the ranges starts[i]..starts[i] + lengths[i], one after the other."""
    import numpy as np

    ends = np.cumsum(lengths)
    spans = np.repeat(starts - ends + lengths, lengths)
    spans += np.arange(len(spans))
    return spans


def _counted(
    docs: np.ndarray, terms: np.ndarray, count: int, times: np.ndarray | None = None
) -> _Sparse:
    """Return each document's distinct terms in order of first use, with their counts.

    Each (document, term) pair is one use of the term, or `times` uses.
    """
    import numpy as np

    by_doc, by_term, places = _sort_together(docs, terms, np.arange(len(terms)))
    new = np.ones(len(terms), dtype=bool)
    new[1:] = (by_doc[1:] != by_doc[:-1]) | (by_term[1:] != by_term[:-1])
    starts = np.flatnonzero(new)
    first = np.zeros(len(terms), dtype=bool)
    first[places[starts]] = True
    counts = np.zeros(len(terms), dtype=np.intp)
    if times is None:
        counts[places[starts]] = np.diff(starts, append=len(terms))
    elif len(starts):
        counts[places[starts]] = np.add.reduceat(times[places], starts)
    return _Sparse(_ptr(docs[first], count), terms[first], counts[first])


def _sort_together(*columns: np.ndarray) -> list[np.ndarray]:
    """Return non-negative integer columns sorted as rows of a table, the first column first.

    Packed into one int64 when they fit, they sort far faster than with np.lexsort.
    """
    import numpy as np

    widths = [int(column.max(initial=0)).bit_length() for column in columns]
    if sum(widths) > PACK_BITS:
        order = np.lexsort(columns[::-1])
        return [column[order] for column in columns]
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for column, width in zip(columns, widths, strict=True):
        key <<= width
        key |= column
    key.sort()
    sorted_columns = []
    for width in reversed(widths):
        sorted_columns.append(key & ((1 << width) - 1))
        key >>= width
    return sorted_columns[::-1]


class _Weighting:
    """The corpus-wide figures `_vectors` weights terms with, and the order of term names."""

    def __init__(self, terms: list[str], counts: Sequence[_Sparse]) -> None:
        import numpy as np

        n = sum(len(block.ptr) - 1 for block in counts)
        self.df = np.zeros(len(terms), dtype=np.int64)
        for block in counts:
            self.df += np.bincount(block.cols, minlength=len(terms))
        self.cutoff = max(MIN_DF_CUTOFF, MAX_DF * n)
        values, where = np.unique(self.df, return_inverse=True)
        self.idf = np.array([math.log((1 + n) / (1 + d)) + 1 for d in values.tolist()])[where]
        most = max((int(block.vals.max(initial=0)) for block in counts), default=0)
        self.tf = np.array([0.0] + [_tf(c) for c in range(1, most + 1)])
        self.by_name = np.array(sorted(range(len(terms)), key=terms.__getitem__), dtype=np.intp)
        self.place = np.empty_like(self.by_name)
        self.place[self.by_name] = np.arange(len(terms))

    def vectors(self, counts: Sequence[_Sparse]) -> _Sparse:
        """Return every document's top terms and unit-vector weights, as `_vectors` does."""
        return _stack([self._block(block) for block in counts])

    def _block(self, counts: _Sparse) -> _Sparse:
        """Return the top terms and unit-vector weights of a block of documents."""
        import numpy as np

        n = len(counts.ptr) - 1
        indexed = self.df[counts.cols] <= self.cutoff
        rows, cols = _row_numbers(counts.ptr)[indexed], counts.cols[indexed]
        raw = self.tf[counts.vals[indexed]] * self.idf[cols]
        norms = np.array([math.sqrt(s) or 1.0 for s in _python_sums(raw * raw, _ptr(rows, n))])
        shared = self.df[cols] > 1
        rows, cols, raw = rows[shared], cols[shared], raw[shared]
        levels, weights = _levels(raw)
        top_level, top_place = len(weights) - 1, len(self.place) - 1
        # heapq.nlargest of (weight, term): heavier first, then the later term in name order
        rows, lighter, earlier = _sort_together(
            rows, top_level - levels, top_place - self.place[cols]
        )
        kept = _places(rows, n) < TOP_TERMS
        rows, weights = rows[kept], weights[top_level - lighter[kept]]
        return _Sparse(
            _ptr(rows, n), self.by_name[top_place - earlier[kept]], weights / norms[rows]
        )


def _levels(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return each value's rank among the distinct values, and the distinct values in order."""
    import numpy as np

    order = np.argsort(values)
    ordered = values[order]
    new = np.ones(len(values), dtype=bool)
    new[1:] = ordered[1:] != ordered[:-1]
    levels = np.empty(len(values), dtype=np.intp)
    levels[order] = np.cumsum(new) - 1
    return levels, ordered[new]


def _posting_matrix(vectors: _Sparse, size: int) -> _Sparse:
    """Return each term's documents and weights, cut to the heaviest as `_index` does."""
    levels, weights = _levels(vectors.vals)
    top = len(weights) - 1
    # heapq.nlargest by weight over documents in order: heavier first, then the earlier document
    terms, lighter, docs = _sort_together(vectors.cols, top - levels, _row_numbers(vectors.ptr))
    kept = _places(terms, size) < MAX_POSTINGS
    terms, docs, lighter = _sort_together(terms[kept], docs[kept], lighter[kept])
    return _Sparse(_ptr(terms, size), docs, weights[top - lighter])


def _row_numbers(ptr: np.ndarray) -> np.ndarray:
    """Return the row number of every entry of a CSR matrix."""
    import numpy as np

    return np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))


def _stack(parts: Sequence[_Sparse]) -> _Sparse:
    """Return the rows of CSR matrices one after the other."""
    import numpy as np

    return _Sparse(
        np.concatenate([[0], *(np.diff(part.ptr) for part in parts)]).cumsum(),
        np.concatenate([np.zeros(0, np.intp), *(part.cols for part in parts)]),
        np.concatenate([np.zeros(0), *(part.vals for part in parts)]),
    )


def _ptr(rows: np.ndarray, count: int) -> np.ndarray:
    """Return the CSR row pointers of `count` rows for sorted row numbers."""
    import numpy as np

    return np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=count))))


def _places(rows: np.ndarray, count: int) -> np.ndarray:
    """Return each entry's place within its row, for sorted row numbers."""
    import numpy as np

    return np.arange(len(rows)) - _ptr(rows, count)[rows]


def _python_sums(values: np.ndarray, ptr: np.ndarray) -> list[float]:
    """Return Python's sum() of each row of float64 values (numpy may add in another order)."""
    items = memoryview(values)
    return [sum(items[a:b]) for a, b in itertools.pairwise(ptr.tolist())]


_STATE: dict = {}


def _rank_range(start: int, stop: int) -> list[tuple[str, ...]]:
    """Rank documents start..stop (in a worker process or in-line)."""
    import numpy as np

    vectors, index, slugs, k = _STATE["vectors"], _STATE["index"], _STATE["slugs"], _STATE["k"]
    n = len(slugs)
    block = max(1, min(BLOCK_CELLS // n, BLOCK_ROWS))
    stamp = np.zeros(block * n, dtype=np.int32)
    ranked: list[tuple[str, ...]] = []
    for first in range(start, stop, RANK_ROWS):
        last = min(first + RANK_ROWS, stop)
        parts = []
        for row in range(first, last, block):  # a block's scores fill block * n cells of stamp
            end = min(row + block, last)
            own = np.arange(end - row) * (n + 1) + row  # each row's key for its own document
            scores = _accumulate(_products(vectors, index, row, end, n), stamp, own)
            parts.append(_contenders(scores, k, n))
        ranked += _best_rows(_stack(parts), slugs, k)
    return ranked


def _products(vectors: _Sparse, index: _Sparse, first: int, last: int, n: int) -> _Sparse:
    """Return rows first..last's (row * n + doc, weight * other) pairs in `_scores` order.

    Row r is the document first + r; doc is the document it shares a term with.
    """
    import numpy as np

    lo, hi = vectors.ptr[first], vectors.ptr[last]
    terms = vectors.cols[lo:hi]
    lengths = index.ptr[terms + 1] - index.ptr[terms]
    postings = _spans(index.ptr[terms], lengths)
    rows = np.repeat(np.arange(last - first), np.diff(vectors.ptr[first : last + 1]))
    keys = index.cols[postings]
    keys += np.repeat(rows * n, lengths)
    products = index.vals[postings]
    products *= np.repeat(vectors.vals[lo:hi], lengths)  # other * weight == weight * other
    ptr = np.concatenate(([0], np.cumsum(lengths)))[vectors.ptr[first : last + 1] - lo]
    return _Sparse(ptr, keys, products)


def _accumulate(products: _Sparse, stamp: np.ndarray, excluded: np.ndarray) -> _Sparse:
    """Return each distinct key once, with its products added in array order from 0.0.

    Writing every pair's position to stamp[key] leaves one of them per key, which stands for
    the key; np.bincount then adds each key's products one by one, in array order, exactly
    as the `_scores` loop does. Keys in `excluded` get the score -inf.
    """
    import numpy as np

    keys = products.cols
    positions = np.arange(len(keys), dtype=stamp.dtype)
    stamp[keys] = positions
    owners = stamp[keys]
    owner = owners == positions
    slots = np.cumsum(owner)  # a key's number, counting from 1
    sums = np.bincount(slots[owners], weights=products.vals).astype(float, copy=False)[1:]
    at = stamp[excluded]  # written in this block if the key is here, else stale
    here = (at < len(keys)) & (at >= 0)
    at = at[here][keys[at[here]] == excluded[here]]
    sums[slots[at] - 1] = -np.inf
    return _Sparse(np.concatenate(([0], slots))[products.ptr], keys[owner], sums)


def _contenders(scores: _Sparse, k: int, n: int) -> _Sparse:
    """Return the documents and (row * n + doc) scores of each row that may rank or tie.

    The k-th best of a row's first entries is at most its k-th best, so `_lowest_candidate`
    of it bounds every score `_top` would consider. The -inf scores always go.
    """
    import numpy as np

    bounds = _kth_largest(scores, k, max(PREFILTER, k + 1)).tolist()
    lowest = [_lowest_candidate(b) if b > -math.inf else -sys.float_info.max for b in bounds]
    keep = scores.vals >= np.repeat(lowest, np.diff(scores.ptr))
    ptr = np.concatenate(([0], np.cumsum(keep)))[scores.ptr]
    docs = scores.cols[keep] - _row_numbers(ptr) * n
    return _Sparse(ptr, docs, scores.vals[keep])


def _kth_largest(scores: _Sparse, k: int, width: int) -> np.ndarray:
    """Return the k-th largest of each row's first `width` scores, or -inf if it has fewer."""
    import numpy as np

    sizes = np.diff(scores.ptr)
    width = min(width, int(sizes.max(initial=0)))
    if width < k:
        return np.full(len(sizes), -np.inf)
    columns = np.arange(width)
    filled = columns < sizes[:, None]
    grid = np.full(filled.shape, -np.inf)
    grid[filled] = scores.vals[(scores.ptr[:-1, None] + columns)[filled]]
    return np.partition(grid, width - k, axis=1)[:, width - k]


def _best_rows(scores: _Sparse, slugs: Sequence[str], k: int) -> list[tuple[str, ...]]:
    """Return the slugs of each row's `k` best documents, exactly as `_top` ranks them."""
    import numpy as np

    kth = _kth_best(scores, k).tolist()
    lowest = [_lowest_candidate(s) if s < math.inf else s for s in kth]
    can = scores.vals >= np.repeat(lowest, np.diff(scores.ptr))
    rows, docs = _row_numbers(scores.ptr)[can], scores.cols[can]
    rounded = np.array([round(s, SCORE_DIGITS) for s in scores.vals[can].tolist()], dtype=float)
    order = np.lexsort((docs, -rounded, rows))  # as `_best`, since slugs are in document order
    rows, docs, rounded = rows[order], docs[order], rounded[order]
    best = (_places(rows, len(kth)) < k) & (rounded > 0)
    return _slug_tuples(rows[best], docs[best], len(kth), slugs)


def _kth_best(scores: _Sparse, k: int) -> np.ndarray:
    """Return each row's k-th largest score, its smallest if it has fewer, and inf if none."""
    import numpy as np

    sizes = np.diff(scores.ptr)
    width = max(GRID_WIDTH, k)
    kth = _kth_largest(scores, k, width)  # exact for rows no wider
    for row in np.flatnonzero(sizes > width).tolist():
        row_scores = scores.vals[scores.ptr[row] : scores.ptr[row + 1]]
        kth[row] = np.partition(row_scores, len(row_scores) - k)[len(row_scores) - k]
    filled = sizes > 0
    kth[~filled] = np.inf
    fewer = filled & (sizes < k)
    kth[fewer] = np.minimum.reduceat(scores.vals, scores.ptr[:-1][filled])[fewer[filled]]
    return kth


def _slug_tuples(
    rows: np.ndarray, docs: np.ndarray, count: int, slugs: Sequence[str]
) -> list[tuple[str, ...]]:
    """Return, for each of `count` rows, the slugs of its documents (rows sorted)."""
    names = [slugs[j] for j in docs.tolist()]
    return [tuple(names[a:b]) for a, b in itertools.pairwise(_ptr(rows, count).tolist())]


def synthetic_docs(n: int, size: int = 1500, seed: int = 0) -> list[tuple[str, str]]:
    """Return `n` deterministic pseudo-abstracts of about `size` characters.

    Words follow a Zipf law; each document also draws from one of 200 narrow topics and one
    of 10 broad fields, so some terms are shared by about a tenth of the corpus.
    """
    rng = random.Random(seed)
    vocab = [f"w{rng.randrange(36**5):05x}" for _ in range(20_000)]
    cumulative = list(itertools.accumulate(1 / (r + 1) for r in range(len(vocab))))
    topics = [rng.sample(vocab[200:], 60) for _ in range(200)]
    fields = [rng.sample(vocab[100:], 15) for _ in range(10)]
    docs = []
    for d in range(n):
        words = rng.choices(vocab, cum_weights=cumulative, k=size // 12)
        words += rng.choices(topics[d % len(topics)], k=size // 60)
        words += rng.choices(fields[d % len(fields)], k=size // 60)
        rng.shuffle(words)
        docs.append((f"paper-{d:05d}", " ".join(words)))
    return docs


def benchmark(n: int = 10_000, k: int = 5) -> float:
    """Return the CPU seconds (with any worker processes') `related_papers` takes on `n` docs."""
    docs = synthetic_docs(n)
    start = _cpu_seconds()
    related_papers(docs, k)
    return _cpu_seconds() - start


def _cpu_seconds() -> float:
    """Return the CPU time of this process and of its finished child processes."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system
