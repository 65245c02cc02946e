"""Related papers: TF-IDF neighbours, determinism and speed."""

from __future__ import annotations

import random

import pytest

from generator import related
from generator.related import related_papers, synthetic_docs, tokens

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
        ("The Models use Transformers!", ["model", "transformer"]),
        ("state-of-the-art LLMs in 2024", ["state-of-the-art", "llm"]),
        ("a b c x1 42 3d", ["x1", "3d"]),
        ("class loss analysis status", ["class", "loss", "analysis", "status"]),
        ("Über größere Modelle", ["über", "grössere", "modelle"]),
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
