"""The prefiltered topic scorer gives exactly what running every regex on every text gives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.corpus import generate
from generator.digest import parse_digest, parse_text
from generator.prefilter import START, PieceIndex, admits, analyse
from generator.topics import classify, clear_cache, load_topics, score_topic, score_topics
from generator.topicscore import prepare
from tests import reference_topics
from tests.conftest import DIGESTS

ROOT = Path(__file__).resolve().parent.parent
TOPICS = load_topics(ROOT / "content" / "topics.yaml")

# Rules the shipped file does not have: anchors, look-arounds, back-references, inline flags,
# patterns that reach across sentences, non-ASCII literals, rules scored where they never
# match (the screen still sees them), and against-rules without any evidence.
TRICKY_TOPICS = r"""
claim_markers:
  - '\bwe (propose|introduce)\b'
  - '^(here|herein),? we\b'
topics:
  - id: anchors
    title: Anchors and look-arounds
    description: Rules that look at what surrounds a match.
    threshold: 2.0
    evidence:
      - {pattern: '^we propose', weight: 1.0}
      - {pattern: 'networks?$', weight: 1.0}
      - {pattern: '(?<!sparse )training\b', weight: 1.0}
      - {pattern: '\bprun\w+(?= the)', weight: 2.0}
      - {pattern: '\bgraph(?!s)', weight: 1.0}
      - {pattern: '\Bnet\b', weight: 0.5}
    against:
      - {pattern: '\bdata(set)?\b', weight: 1.0}
  - id: reach
    title: Reaching across sentences
    description: Rules whose matches may span a sentence break.
    threshold: 2.0
    evidence:
      - {pattern: 'sparse.{0,30}training', weight: 2.0, where: abstract}
      - {pattern: 'model\. We', weight: 1.0}
      - {pattern: '\bweights\b[^;]{0,40}\blatent\b', weight: 1.5}
      - {pattern: 'operators?\s+Training', weight: 1.0}
      - {pattern: '\bhyper-?networks?\b', weight: 3.0, where: title}
    against:
      - {pattern: '\blow[- ]rank\b', weight: 1.0}
  - id: odd
    title: Odd patterns
    description: Back-references, flags and letters outside ASCII.
    threshold: 1.0
    evidence:
      - {pattern: '\b(\w+) \1\b', weight: 1.0, label: repeated word}
      - {pattern: '(?-i:FNO)s?', weight: 2.0}
      - {pattern: '(?x: deep \  learning)', weight: 1.0}
      - {pattern: 'ſparse|\u212aernel', weight: 1.0, label: long s and Kelvin sign}
      - {pattern: '(?>atomic|atom)ic', weight: 1.0}
      - {pattern: 'pos++itive', weight: 1.0}
      - {pattern: '(a)?(?(1)b|c)onv', weight: 1.0}
      - {pattern: 'Über|naïve', weight: 1.0}
  - id: against-only
    title: Against only
    description: Evidence that rarely fires, against-rules that often do.
    threshold: 1.0
    evidence:
      - {pattern: '\bzebra\b', weight: 1.0, where: abstract}
    against:
      - {pattern: '\bnetworks?\b', weight: 2.0}
      - {pattern: '\bwe\b', weight: 1.0}
"""

TRICKY_PAPERS = [
    ("Pruning the Graph Networks", "We propose pruning the graph. It trains fast networks"),
    ("A sparse model", "We study sparse models. Training them is hard. Sparse. Training too."),
    ("Hypernetworks", "Herein, we introduce a model. We then train the model. We do it again."),
    ("FNOs and fnos", "We propose FNOs. Weights in a latent space; weights, then the latent."),
    ("Deep  learning", "deep  learning and deep learning. Operators Training operators training."),
    ("ſparse \u212aernels", "The \u212aernel trick. ſparse networks are ſmall. İ and ı."),
    ("Über naïve nets", "Über-naïve convolutions: aconv, bconv, conv. Atomic atomicic."),
    ("Low-rank zebra", "A low\u2013rank zebra. See https://github.com/a/b. Low\u2011rank again."),
    ("Rethinking \\'e", 'We use \\"o and \\^a accents. Positive possitive pos+itive.'),
    ("Data", "The the data dataset. Sparse  training over. (Sparse) training."),
    ("Zebra", "Networks networks. We we. Zebra zebra."),
    ("", ""),
    ("networks", "networks"),
]

WORDS = (
    "we propose introduce here herein sparse training pruning prune the graph graphs "
    "network networks net model weights latent space operator operators FNO fnos deep "
    "learning hyper-network hypernetworks data dataset low-rank zebra atomic conv aconv "
    "ſparse \u212aernel Über naïve neural pde attention layer function"
).split()
SEPS = [" ", " ", " ", ". ", ", ", "; ", "! ", "? ", " - ", "\u2013", "  ", ".  ", " (", ") "]


def _papers_of(paths: list[Path]) -> list[tuple[str, str]]:
    return [(r.title, r.abstract) for path in paths for r in parse_digest(path).records]


def _assert_same(papers: list[tuple[str, str]], topics: tuple) -> None:
    for title, abstract in papers:
        expected = reference_topics.score_all(title, abstract, topics)
        assert score_topics(title, abstract, topics) == expected, (title, abstract)
        for topic, match in zip(topics, expected, strict=True):
            assert score_topic(title, abstract, topic) == match
        wanted = tuple(m for m, t in zip(expected, topics, strict=True) if m.score >= t.threshold)
        assert classify(title, abstract, topics) == wanted


@pytest.fixture(scope="module")
def tricky(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    path = tmp_path_factory.mktemp("topics") / "topics.yaml"
    path.write_text(TRICKY_TOPICS, encoding="utf-8")
    return load_topics(path)


def test_shipped_papers_score_as_the_reference() -> None:
    clear_cache()
    _assert_same(_papers_of(DIGESTS), TOPICS)


def test_synthetic_corpus_scores_as_the_reference() -> None:
    corpus = generate(600, seed=11)
    papers = [
        (r.title, r.abstract) for n, t in corpus.digests for r in parse_text(t, Path(n)).records
    ]
    _assert_same(papers, TOPICS)


def test_tricky_rules_score_as_the_reference(tricky: tuple) -> None:
    _assert_same(TRICKY_PAPERS, tricky)
    _assert_same(TRICKY_PAPERS, TOPICS)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=st.lists(st.sampled_from(WORDS), max_size=6).map(" ".join),
    parts=st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPS)), max_size=30),
)
def test_generated_papers_score_as_the_reference(tricky: tuple, title: str, parts: list) -> None:
    abstract = "".join(word + sep for word, sep in parts)
    _assert_same([(title, abstract), (abstract[:80], title)], tricky + TOPICS)


@settings(max_examples=3000, deadline=None)
@given(
    st.text(max_size=40)
    | st.lists(
        st.sampled_from(
            ["A", "b", ".", "!", "?", " ", "  ", "\t", "\n", "(", "1", "\u2013"]
            + ["http://x.y", "www.a", "\\'e", "\u00a0", "\x7f", "GitHub.com/a"]
        )
    ).map("".join)
)
def test_text_is_prepared_as_before(text: str) -> None:
    assert prepare(text) == reference_topics.prepare(text)


def test_a_rule_that_cannot_join_the_screen_fails_as_before(tmp_path: Path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text(TRICKY_TOPICS.replace("'(?x: deep \\  learning)'", "'(?x) deep'"), "utf-8")
    topics = load_topics(path)
    with pytest.raises(re.error) as expected:
        reference_topics.score_all("Deep", "deep", topics)
    with pytest.raises(re.error) as got:
        score_topics("Deep", "deep", topics)
    assert str(got.value) == str(expected.value)


# ---------------------------------------------------------------- the prefilter itself

ATOMS = [
    "net",
    "work",
    "deep",
    "sparse",
    "train",
    "ing",
    "s",
    " ",
    "-",
    r"\.",
    r"\b",
    r"\B",
    r"\w+",
    r"\w*",
    r"\S+",
    ".",
    "[- ]",
    "[^.;]",
    r"\s+",
    "^",
    "$",
    "(?=s)",
    "(?<!e)",
]


def _pattern() -> st.SearchStrategy[str]:
    atom = st.sampled_from(ATOMS)
    return st.recursive(
        atom,
        lambda inner: st.one_of(
            st.lists(inner, min_size=1, max_size=4).map("".join),
            st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(" + "|".join(xs) + ")"),
            st.tuples(inner, st.sampled_from(["?", "*", "+", "{0,3}", "{1,2}", "+?"])).map(
                lambda p: f"(?:{p[0]}){p[1]}"
            ),
        ),
        max_leaves=8,
    )


TEXT = st.lists(
    st.sampled_from(["net", "work", "deep", "sparse", "train", "ing", "s", "e", "x", "Net"])
    | st.sampled_from([" ", " ", "-", ". ", ".", "! ", "; ", "_"]),
    max_size=25,
).map("".join)


@settings(max_examples=1500, deadline=None)
@given(pattern=_pattern(), text=TEXT)
def test_prefilter_never_rules_out_a_match(pattern: str, text: str) -> None:
    try:
        regex = re.compile(pattern, re.IGNORECASE)
    except re.error:
        return
    if regex.search(""):
        return  # topics.yaml refuses rules that match empty text
    found = analyse(regex)
    index = PieceIndex(p for clause in found.clauses for p in clause)
    if regex.search(text):
        assert admits(index.masks(found.clauses), index.present(text)), found
    cleaned, sentences = prepare(text)
    whole = regex.search(cleaned) is not None
    inside = any(regex.search(s) for s in sentences)
    if found.local and inside:
        assert whole, found  # a match in a sentence is a match in the text
    if found.sentence_bound and whole:
        assert inside, found  # and a match in the text lies in one sentence


def test_clauses_of_real_rules() -> None:
    clauses = {r.pattern: analyse(r.regex).clauses for t in TOPICS for r in t.evidence}
    assert clauses[r"\bneural[- ]operators?\b"] == (
        frozenset({START + "operator"}),
        frozenset({START + "neural"}),
    )
    fno = clauses[r"\bfourier neural operators?\b|\bFNOs?\b"]
    assert all(START + "fno" in clause for clause in fno)
    assert analyse(re.compile(r"\b(\w+) \1\b")).backrefs
    assert not analyse(re.compile(r"(?<=a)b")).local
    assert not analyse(re.compile(r"a.{0,3}b")).sentence_bound  # `.` may take the full stop
    assert analyse(re.compile(r"\ba[- ]b\b")).sentence_bound
