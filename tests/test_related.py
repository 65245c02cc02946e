"""Related papers: TF-IDF neighbours, determinism and speed."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from hashlib import sha256

import numpy as np
import pytest
from conftest import REPO
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import related
from generator.related import related_papers, synthetic_docs, tokens
from generator.search import SearchDoc, SearchMemo, related_by_terms
from generator.store import load_store

CATS = [
    ("cats-a", "Cats purr when domestic cats feel safe; feline purring and whiskers."),
    ("cats-b", "Feline whiskers help domestic cats hunt; cats purr and groom."),
    ("cats-c", "Purring cats: a study of feline vocal sounds and whiskers."),
]
ROCKETS = [
    ("rockets-a", "Rocket engines burn liquid propellant; orbital launch vehicles need thrust."),
    ("rockets-b", "Liquid propellant rocket engines produce thrust for orbital launch."),
    ("rockets-c", "Reusable launch vehicles land rocket boosters after orbital flight."),
]


def test_neighbours_share_vocabulary() -> None:
    result = related_papers(CATS + ROCKETS, k=2)
    assert set(result) == {slug for slug, _ in CATS + ROCKETS}
    for slug, others in result.items():
        family = slug.split("-")[0]
        assert others and all(o.split("-")[0] == family for o in others), (slug, others)
        assert slug not in others
        assert len(others) <= 2


def test_best_match_first() -> None:
    docs = [
        ("q", "sparse attention transformer long context"),
        ("close", "sparse attention transformer long context memory"),
        ("far", "transformer vision patches"),
    ]
    assert related_papers(docs, k=2)["q"] == ("close", "far")


def test_unrelated_documents_get_no_neighbours() -> None:
    docs = [("a", "alpha beta gamma"), ("b", "delta epsilon zeta"), ("c", "the and of with")]
    assert related_papers(docs) == {"a": (), "b": (), "c": ()}


def test_stop_words_and_numbers_do_not_link_documents() -> None:
    docs = [("a", "the of and 2023 using we our"), ("b", "the of and 2023 using we our")]
    assert related_papers(docs) == {"a": (), "b": ()}


def test_ties_break_by_slug() -> None:
    text = "graph neural networks message passing"
    docs = [("d", text), ("b", text), ("c", text), ("a", text), ("z", "unrelated words here")]
    result = related_papers(docs, k=2)
    assert result["d"] == ("a", "b")
    assert result["a"] == ("b", "c")


def test_result_does_not_depend_on_input_order() -> None:
    docs = synthetic_docs(300, seed=3)
    shuffled = docs[:]
    random.Random(1).shuffle(shuffled)
    assert related_papers(docs) == related_papers(shuffled)


def test_k_and_edge_cases() -> None:
    assert related_papers([]) == {}
    assert related_papers([("only", "lonely paper about lonely things")]) == {"only": ()}
    assert related_papers(CATS, k=0) == {slug: () for slug, _ in CATS}
    assert all(len(v) <= 1 for v in related_papers(CATS + ROCKETS, k=1).values())
    with pytest.raises(ValueError, match="duplicate"):
        related_papers([("a", "x y"), ("a", "x z")])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Models use Transformers!", ["model", "transform"]),  # the index's stems
        ("state-of-the-art LLMs in 2024", ["state", "art", "llm"]),  # split at hyphens
        ("a b c x1 42 3d", ["x1", "3d"]),
        ("class loss analysis status", ["class", "loss", "analysi", "statu"]),
        ("Über größere Modelle", ["über", "größere", "model"]),
        ("using used uses use, we our the 2023", []),  # stop words by their stems
    ],
)
def test_tokens(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


def test_synthetic_docs_are_deterministic_and_abstract_sized() -> None:
    docs = synthetic_docs(50)
    assert docs == synthetic_docs(50)
    assert 1200 < sum(len(t) for _, t in docs) / len(docs) < 1800


def test_two_thousand_documents_find_their_own_topic() -> None:
    docs = synthetic_docs(2000)
    result = related_papers(docs)
    same = sum(
        int(o[-5:]) % 200 == int(s[-5:]) % 200 for s, others in result.items() for o in others
    )
    assert same / (5 * len(docs)) > 0.9  # documents drawn from one topic find each other


def test_parallel_ranking_equals_serial_ranking(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = synthetic_docs(300, seed=4)
    serial = related_papers(docs)
    monkeypatch.setattr(related, "PARALLEL_MIN", 10)
    assert related_papers(docs) == serial


# The numpy path must rank exactly as the pure-Python path: same scores, bit for bit.


def adversarial_docs() -> list[tuple[str, str]]:
    """Return documents that stress ties, repeats, empty and odd texts, and long postings."""
    same = "graph neural networks message passing over molecular graphs"
    docs = [(f"copy-{i:03d}", same) for i in range(60)]  # 60 equal scores: ties and long postings
    docs += [(f"near-{i:02d}", f"{same} {'atoms ' * (i % 4)}bonds") for i in range(20)]
    docs += [(f"empty-{i}", "") for i in range(3)] + [("stop", "the of and with 2024 a")]
    docs += [(f"alone-{i}", f"zq{i}x qz{i}y") for i in range(5)]  # no term shared with anyone
    docs += [
        ("repeat", "model " * 300 + "models Model MODELS graph"),
        ("odd", "Über\u00a0grosse\u2003Straße state-of-the-art don't --x-- 'quoted' İstanbul"),
        ("odd-too", "über große strasse State-Of-The-Art DON'T x quoted istanbul"),
        ("long", " ".join(f"term{i} graph" for i in range(400))),
        ("tabs", "graph\tneural\nnetworks\r\nmessage\x0bpassing\x1cmolecular"),
    ]
    return docs


def shipped_docs() -> list[tuple[str, str]]:
    """Return the shipped papers as (slug, text) documents."""
    store = load_store(REPO / "content" / "papers", REPO)
    return [(slug, f"{s.entry.display_title}\n{s.entry.abstract}") for slug, s in store.items()]


def index_ranked(docs: list[tuple[str, str]], k: int) -> tuple[dict, list[tuple[str, str]]]:
    """Return related papers ranked on the search index's analysis of the documents.

    Each text is cut into a title (its first third) and an abstract; also return the
    documents as `related_papers` reads them: "title\nabstract".
    """
    split = [(slug, text[: len(text) // 3], text[len(text) // 3 :]) for slug, text in docs]
    found = related_by_terms(
        [SearchDoc(f"papers/{slug}.html", title, abstract) for slug, title, abstract in split],
        [slug for slug, _, _ in split],
        k,
        SearchMemo(),
    )
    return found, [(slug, f"{title}\n{abstract}") for slug, title, abstract in split]


def ranked_both_ways(
    docs: list[tuple[str, str]], k: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict, dict]:
    """Return related_papers computed in pure Python and with numpy."""
    monkeypatch.setattr(related, "NUMPY_MIN", 10**9)
    python = related_papers(docs, k)
    monkeypatch.setattr(related, "NUMPY_MIN", 0)
    return python, related_papers(docs, k)


@pytest.mark.parametrize("k", [0, 1, 5, 7, 60, 1000])
def test_numpy_ranks_adversarial_documents_as_python(
    k: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = adversarial_docs() + synthetic_docs(300, seed=9)
    python, numpy = ranked_both_ways(docs, k, monkeypatch)
    assert numpy == python
    copies = tuple(f"copy-{i:03d}" for i in range(5))[:k]  # equal scores: smaller slugs first
    assert python["copy-055"][:5] == copies  # its terms' postings keep copies 0-49 only
    assert python["odd"] == (("odd-too",) if k else ())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_numpy_ranks_synthetic_documents_as_python(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    python, numpy = ranked_both_ways(synthetic_docs(1200, seed=seed), 5, monkeypatch)
    assert numpy == python


def test_numpy_ranks_shipped_papers_as_python(monkeypatch: pytest.MonkeyPatch) -> None:
    python, numpy = ranked_both_ways(shipped_docs(), 5, monkeypatch)
    assert numpy == python
    assert sum(map(len, python.values())) > 4 * len(python)


@pytest.mark.parametrize("source", ["shipped", "adversarial"])
@pytest.mark.parametrize("k", [0, 5])
def test_ranking_on_the_index_analysis_equals_ranking_the_texts(
    source: str, k: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = {"shipped": shipped_docs, "adversarial": adversarial_docs}[source]()
    found, joined = index_ranked(docs, k)
    python, numpy = ranked_both_ways(joined, k, monkeypatch)
    assert found == python == numpy
    assert list(found) == sorted(found)


def test_ranking_on_the_index_analysis_needs_sorted_slugs() -> None:
    with pytest.raises(ValueError, match="sorted"):
        related.related_from_counts(["b", "a"], [], [], 5)


@pytest.mark.parametrize(
    "docs",
    [[], [("one", "a lonely paper")], [("a", "same words"), ("b", "same words")]],
    ids=["none", "one", "two"],
)
def test_numpy_handles_tiny_corpora(docs: list, monkeypatch: pytest.MonkeyPatch) -> None:
    for k in (0, 1, 5):
        python, numpy = ranked_both_ways(docs, k, monkeypatch)
        assert numpy == python
        assert index_ranked(docs, k)[0] == related_papers(index_ranked(docs, k)[1], k)


@pytest.mark.parametrize(
    "setting",
    [
        {"PACK_BITS": 0},  # np.lexsort instead of packed keys
        {"GRID_WIDTH": 1, "PREFILTER": 1},  # every k-th best found row by row
        {"BLOCK_CELLS": 1, "RANK_ROWS": 3, "COUNT_BLOCK": 7},  # one row per block
        {"PREFILTER": 10**6},  # bound from the whole row
    ],
    ids=["lexsort", "row-by-row", "tiny-blocks", "whole-rows"],
)
def test_numpy_tuning_does_not_change_the_ranking(
    setting: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = adversarial_docs() + synthetic_docs(300, seed=5)
    python, _ = ranked_both_ways(docs, 5, monkeypatch)
    for name, value in setting.items():
        monkeypatch.setattr(related, name, value)
    assert related_papers(docs, 5) == python
    found, joined = index_ranked(docs, 5)
    monkeypatch.setattr(related, "NUMPY_MIN", 10**9)
    assert found == related_papers(joined, 5)


def test_numpy_ranking_in_worker_processes_equals_in_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    docs = synthetic_docs(400, seed=4)
    python, numpy = ranked_both_ways(docs, 5, monkeypatch)
    monkeypatch.setattr(related, "PARALLEL_MIN", 10)
    assert related_papers(docs) == numpy == python


@pytest.mark.parametrize("source", ["synthetic", "shipped", "adversarial"])
def test_numpy_vectors_index_and_scores_are_bit_identical(source: str) -> None:
    docs = {
        "synthetic": lambda: synthetic_docs(800, seed=7),
        "shipped": shipped_docs,
        "adversarial": lambda: adversarial_docs() + synthetic_docs(300, seed=1),
    }[source]()
    texts = [text for _, text in sorted(docs)]
    cache: dict = {}
    vectors = related._vectors([related._term_counts(text, cache) for text in texts])
    index = related._index(vectors)
    terms, counts = related._count_blocks(texts)
    matrix = related._Weighting(terms, counts).vectors(counts)
    postings = related._posting_matrix(matrix, len(terms))
    assert numpy_rows(matrix, key=terms.__getitem__) == [
        [(t, w.hex()) for t, w in vector] for vector in vectors
    ]
    assert {terms[t]: row for t, row in enumerate(numpy_rows(postings)) if row} == {
        t: [(j, w.hex()) for j, w in zip(*entry, strict=True)] for t, entry in index.items()
    }
    n = len(texts)
    stamp, excluded = np.zeros(n * n, dtype=np.int32), np.zeros(0, dtype=np.int64)
    scores = related._accumulate(related._products(matrix, postings, 0, n, n), stamp, excluded)
    for i, vector in enumerate(vectors):
        row = slice(scores.ptr[i], scores.ptr[i + 1])
        found = {
            int(key) - i * n: s.hex()
            for key, s in zip(scores.cols[row], scores.vals[row], strict=True)
        }
        assert found == {j: s.hex() for j, s in related._scores(vector, index).items()}


RECORDED = {  # sha256 of the output of the pure-Python ranking on the index's terms
    ("synthetic", 5): "4e79ef16ba2e603b",
    ("adversarial", 5): "6820cff4ffa46e39",
    ("adversarial", 7): "13e1dc024675d029",
}


@pytest.mark.parametrize(("source", "k"), sorted(RECORDED))
@pytest.mark.parametrize("numpy_min", [0, 10**9], ids=["numpy", "python"])
def test_ranking_equals_the_recorded_ranking(
    source: str, k: int, numpy_min: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = {
        "synthetic": lambda: synthetic_docs(2500, seed=11),
        "adversarial": lambda: adversarial_docs() + synthetic_docs(300, seed=9),
    }[source]()
    monkeypatch.setattr(related, "NUMPY_MIN", numpy_min)
    result = related_papers(docs, k)
    assert sha256(repr(sorted(result.items())).encode()).hexdigest()[:16] == RECORDED[source, k]


def numpy_rows(matrix: related._Sparse, key: Callable[[int], object] = int) -> list[list]:
    """Return a CSR matrix as lists of (key(column), weight.hex()) per row."""
    return [
        [
            (key(int(c)), float(w).hex())
            for c, w in zip(matrix.cols[a:b], matrix.vals[a:b], strict=True)
        ]
        for a, b in zip(matrix.ptr[:-1], matrix.ptr[1:], strict=True)
    ]


WORDS = st.sampled_from(
    ["Model", "models", "state-of-the-art", "don't", "x", "42", "Über", "ß", "İ", "the", "a_b"]
)
SPACES = st.sampled_from([" ", "\n", "\t", "\u00a0", "\u2003", "\x1c", "-", "'", ", ", "--"])


@given(st.lists(st.one_of(WORDS, SPACES, st.text(max_size=4)), max_size=40))
def test_term_counts_see_the_terms_of_tokens_in_order(parts: list[str]) -> None:
    text = "".join(parts)
    expected = Counter(tokens(text))
    for found in (related._term_counts(text, {}), numpy_counts([text, text])[1]):
        assert list(found.items()) == list(expected.items())


def numpy_counts(texts: list[str]) -> list[Counter[str]]:
    """Return each text's term counts as the numpy path reads them, in order of first use."""
    terms, blocks = related._count_blocks(texts)
    return [
        Counter({terms[t]: int(c) for t, c in zip(block.cols[a:b], block.vals[a:b], strict=True)})
        for block in blocks
        for a, b in zip(block.ptr[:-1], block.ptr[1:], strict=True)
    ]


FEW_WORDS = st.sampled_from(["graph", "graphs", "neural", "sparse", "prune", "the", "net", "x"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(FEW_WORDS, max_size=12).map(" ".join), max_size=30),
    st.integers(min_value=0, max_value=8),
)
def test_numpy_ranks_random_small_corpora_as_python(texts: list[str], k: int) -> None:
    docs = [(f"p{i:02d}", text) for i, text in enumerate(texts)]
    with pytest.MonkeyPatch.context() as patch:
        python, numpy = ranked_both_ways(docs, k, patch)
    assert numpy == python
    found, joined = index_ranked(docs, k)
    assert found == related_papers(joined, k)


def test_small_corpora_do_not_import_numpy() -> None:
    code = (
        "import sys; from generator.related import related_papers, synthetic_docs; "
        "related_papers(synthetic_docs(300)); print('numpy' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert run.stdout.strip() == "False", run.stderr


def test_a_caller_that_imported_numpy_gets_the_same_ranking_from_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    docs = synthetic_docs(300, seed=3)
    python = related_papers(docs, 5)
    used: list[int] = []
    real = related._numpy_ranking

    def spy(texts: list[str], slugs: list[str], k: int) -> list[tuple[str, ...]]:
        used.append(len(texts))
        return real(texts, slugs, k)

    monkeypatch.setattr(related, "_numpy_ranking", spy)
    assert related_papers(docs, 5, numpy_imported=True) == python
    assert used == [300]
