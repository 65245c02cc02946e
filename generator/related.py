"""Related papers by TF-IDF cosine similarity over a pruned inverted index, in pure Python."""

from __future__ import annotations

import heapq
import itertools
import math
import random
import re
import time
from collections import Counter
from collections.abc import Sequence

from . import parallel

TOP_TERMS = 32  # each document is represented by its highest-weighted terms
MAX_POSTINGS = 50  # a term links a document to at most this many heaviest holders of it
MAX_DF = 0.25  # terms in more than this share of documents carry no signal...
MIN_DF_CUTOFF = 25  # ...unless the corpus is so small that a share means a handful
MIN_LENGTH = 2
SCORE_DIGITS = 9  # scores equal to this precision tie, and ties go to the smaller slug

_TOKEN = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*")
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


def tokens(text: str) -> list[str]:
    """Split `text` into lowercase terms without stop words, numbers or 1-letter words."""
    return [term for word in _TOKEN.findall(text.casefold()) if (term := _term(word))]


def _term(word: str) -> str:
    """Return the index term for a lowercase word, or '' when the word is not indexed."""
    if len(word) < MIN_LENGTH or word in STOP_WORDS or word.isdigit():
        return ""
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]  # a plain plural: `models` matches `model`
    return word


def _term_counts(text: str, cache: dict[str, str]) -> Counter[str]:
    """Count the terms of `text`; `cache` memoises word -> term across documents."""
    words = _TOKEN.findall(text.casefold())
    for word in set(words).difference(cache):
        cache[word] = _term(word)
    counts = Counter(map(cache.__getitem__, words))
    counts.pop("", None)
    return counts


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


def related_papers(docs: Sequence[tuple[str, str]], k: int = 5) -> dict[str, tuple[str, ...]]:
    """Return, for each slug, up to `k` other slugs with the most similar text, best first."""
    ordered = sorted(docs, key=lambda doc: doc[0])  # results must not depend on input order
    slugs = [slug for slug, _ in ordered]
    if len(set(slugs)) != len(slugs):
        raise ValueError("related_papers: duplicate slugs")
    cache: dict[str, str] = {}
    vectors = _vectors([_term_counts(text, cache) for _, text in ordered])
    index = _index(vectors)
    _STATE.update(vectors=vectors, index=index, slugs=slugs, k=k)
    try:
        nearest = _all_nearest(len(slugs))
    finally:
        _STATE.clear()
    found = dict(zip(slugs, nearest, strict=True))
    return {slug: found[slug] for slug, _ in docs}


_STATE: dict = {}
PARALLEL_MIN = 2000


def _nearest_range(start: int, stop: int) -> list[tuple[str, ...]]:
    """Rank neighbours for documents start..stop (in a worker process or in-line)."""
    vectors, index, slugs, k = _STATE["vectors"], _STATE["index"], _STATE["slugs"], _STATE["k"]
    return [_nearest(i, vectors[i], index, slugs, k) for i in range(start, stop)]


def _all_nearest(count: int) -> list[tuple[str, ...]]:
    """Rank every document's neighbours, splitting the work over the cores for big corpora."""
    jobs = parallel.jobs_for(count, PARALLEL_MIN)
    parts = parallel.starmap(_nearest_range, parallel.ranges(count, jobs * 2), jobs)
    return [item for part in parts for item in part]


def _nearest(
    i: int,
    terms: list[tuple[str, float]],
    index: dict[str, tuple[list[int], list[float]]],
    slugs: Sequence[str],
    k: int,
) -> tuple[str, ...]:
    """Return the slugs of the `k` best-scoring documents other than `i`."""
    scores: dict[int, float] = {}
    get = scores.get
    for term, weight in terms:
        numbers, weights = index[term]
        for j, other in zip(numbers, weights, strict=True):
            scores[j] = get(j, 0.0) + weight * other
    scores.pop(i, None)
    if k <= 0 or not scores:
        return ()
    floor = round(heapq.nlargest(k, scores.values())[-1], SCORE_DIGITS)
    if floor <= 0:
        floor = 10.0**-SCORE_DIGITS
    rounded = [(-round(s, SCORE_DIGITS), slugs[j]) for j, s in scores.items() if s >= floor - 1e-9]
    return tuple(slug for score, slug in sorted(rounded)[:k] if score < 0)


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
    """Return the CPU seconds `related_papers` takes on `n` synthetic 1.5 KB documents."""
    docs = synthetic_docs(n)
    start = time.process_time()
    related_papers(docs, k)
    return time.process_time() - start
