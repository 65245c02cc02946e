"""Topic classifier: quality on the hand-labelled set, explainability and topics.yaml checks."""

from __future__ import annotations

import pickle
import re
import shutil
from pathlib import Path

import pytest

from generator.digest import parse_digest
from generator.errors import ContentError
from generator.slug import slugify, title_key
from generator.topics import (
    OTHER,
    borderline,
    check_topics,
    classify,
    clear_cache,
    evaluate,
    format_review,
    load_labels,
    load_topics,
    score_topic,
    topic_counts,
)

ROOT = Path(__file__).resolve().parent.parent
TOPICS_FILE = ROOT / "content" / "topics.yaml"
LABELS_FILE = ROOT / "tests" / "labels" / "topics.yaml"
MIN_F1 = 0.85
MIN_PRECISION = 0.85

HYPER_PRUNE = (
    "Pruning Meets Hypernetworks: Generating Sparse Weights for Every Task",
    "We propose a hypernetwork that generates the weights of a target network for each task "
    "together with a binary mask, so that the generated networks are pruned to 90 percent "
    "sparsity without retraining.",
)
OPTIMISER = (
    "A Method for Stochastic Optimization with Adaptive Moments",
    "We introduce an algorithm for first-order gradient-based optimization of stochastic "
    "objective functions, based on adaptive estimates of lower-order moments. The method is "
    "straightforward to implement and computationally efficient.",
)
QUANT_TOPIC = """
  - id: quantisation
    title: Quantisation
    description: Low-precision weights and activations.
    threshold: 4.0
    evidence:
      - {pattern: '\\bquanti[sz](ation|ed|ing|es?)\\b', weight: 3.0, label: quantisation}
      - {pattern: '\\b(int|4-bit|8-bit|low-bit) (weights|arithmetic)\\b', weight: 2.0}
"""
QUANT_PAPER = (
    "Low-Bit Quantisation of Vision Transformers without Retraining",
    "We propose a post-training quantisation scheme that maps weights and activations of "
    "vision transformers to 4-bit integers with a per-channel calibration step.",
)


@pytest.fixture(scope="module")
def topics():
    return load_topics(TOPICS_FILE)


@pytest.fixture(scope="module")
def papers() -> dict[str, str]:
    """Return title -> abstract for every distinct paper in the shipped digests."""
    found: dict[str, tuple[str, str]] = {}
    for path in sorted((ROOT / "content" / "digests").glob("*.txt")):
        for record in parse_digest(path).records:
            found.setdefault(title_key(record.title), (record.title, record.abstract))
    return dict(found.values())


@pytest.fixture(scope="module")
def labels(topics):
    return load_labels(LABELS_FILE, [t.id for t in topics])


def _ids(matches) -> set[str]:
    return {m.topic for m in matches}


# ------------------------------------------------------------------ quality


def test_labelled_set_quality(topics, papers, labels):
    predicted = {
        title: _ids(classify(title, abstract, topics)) for title, abstract in papers.items()
    }
    report = evaluate(predicted, labels, [t.id for t in topics])
    print(report.format(mistakes=True))
    assert not report.missing, f"labelled papers not found in the digests: {report.missing}"
    assert report.papers >= 120
    for score in report.topics:
        assert score.support > 0, f"{score.topic}: no labelled positives"
        assert score.f1 >= MIN_F1, f"{score.topic}: F1 {score.f1:.3f} < {MIN_F1}"
        assert score.precision >= MIN_PRECISION, f"{score.topic}: precision {score.precision:.3f}"


def test_labels_cover_every_topic_and_many_others(topics, labels):
    assert len(labels) >= 120
    others = [key for key, ids in labels.items() if not ids]
    assert len(others) >= 60
    assert {t.id for t in topics} <= set().union(*labels.values())


# ------------------------------------------------------------------ behaviour


def test_multi_topic_paper(topics):
    assert _ids(classify(*HYPER_PRUNE, topics)) == {"hypernetworks", "pruning"}


def test_real_multi_topic_paper(topics, papers):
    title = next(t for t in papers if t.startswith("HyPINO"))
    assert _ids(classify(title, papers[title], topics)) == {"operators", "hypernetworks"}


def test_other_paper_has_no_topics(topics, papers):
    assert classify(*OPTIMISER, topics) == ()
    assert classify("Pointer Networks", papers["Pointer Networks"], topics) == ()


@pytest.mark.parametrize(
    ("title", "abstract", "topic"),
    [
        (
            "Efficient Dataset Pruning for Transfer",
            "We prune the source dataset by 50%.",
            "pruning",
        ),
        ("Hypergraph Neural Networks for Code", "We build a hypergraph network.", "hypernetworks"),
        ("Low-Rank Lottery Tickets", "We restrict weights to low-rank factors.", "pruning"),
        (
            "Memory-Efficient Exact Backpropagation",
            "We use gradient checkpointing.",
            "local-learning",
        ),
    ],
)
def test_tricky_negatives(topics, title, abstract, topic):
    assert topic not in _ids(classify(title, abstract, topics))


def test_classify_keeps_topic_order_and_threshold(topics, papers):
    order = [t.id for t in topics]
    thresholds = {t.id: t.threshold for t in topics}
    for title, abstract in list(papers.items())[:80]:
        matches = classify(title, abstract, topics)
        assert [m.topic for m in matches] == [i for i in order if i in _ids(matches)]
        assert all(m.score >= thresholds[m.topic] for m in matches)


def test_score_is_explained_by_evidence(topics):
    operators = next(t for t in topics if t.id == "operators")
    match = score_topic("A Neural Operator for Flows", "We study turbulence.", operators)
    assert match.topic == "operators"
    assert match.score == pytest.approx(sum(float(e.split()[0]) for e in match.evidence), abs=0.05)
    assert any(e.startswith("+") and "title" in e for e in match.evidence)
    assert any("neural operator" in e for e in match.evidence)


def test_title_and_claim_outweigh_passing_mentions(topics):
    pruning = next(t for t in topics if t.id == "pruning")
    in_title = score_topic("Pruning Deep Networks", "We study vision models.", pruning).score
    in_claim = score_topic("Deep Networks", "We propose a pruning method.", pruning).score
    passing = score_topic("Deep Networks", "Others used pruning before.", pruning).score
    assert in_title > in_claim > passing > 0
    assert passing < pruning.threshold


def test_urls_are_not_evidence(topics):
    abstract = "We study colour images. Code: https://github.com/someone/HyperNets."
    assert "hypernetworks" not in _ids(classify("Colour Networks", abstract, topics))


def test_deterministic(topics, papers):
    again = load_topics(TOPICS_FILE)
    assert again == topics
    items = list(papers.items())[::3]
    clear_cache()
    first = [classify(t, a, topics) for t, a in items]
    clear_cache()
    second = [classify(t, a, again) for t, a in reversed(items)]
    assert first == list(reversed(second))


def test_counts_and_borderline(topics, papers):
    items = list(papers.items())
    counts = topic_counts(items, topics)
    assert list(counts) == [t.id for t in topics] + [OTHER]
    assert counts[OTHER] + sum(1 for t, a in items if classify(t, a, topics)) == len(items)
    near = borderline(items, topics, margin=0.2)
    by_id = {t.id: t for t in topics}
    for item in near:
        assert abs(item.score - item.threshold) <= 0.2 * item.threshold + 1e-9
        assert item.assigned == (item.score >= by_id[item.topic].threshold)
    assert "borderline" in format_review(items[:40], topics)


# ------------------------------------------------------------------ topics.yaml editing


def test_fifth_topic_added_by_editing_the_file_only(tmp_path, topics, papers):
    path = tmp_path / "topics.yaml"
    shutil.copyfile(TOPICS_FILE, path)
    path.write_text(path.read_text(encoding="utf-8") + QUANT_TOPIC, encoding="utf-8")
    extended = load_topics(path)
    assert [t.id for t in extended] == [t.id for t in topics] + ["quantisation"]
    assert _ids(classify(*QUANT_PAPER, extended)) == {"quantisation"}
    title = "Fourier Neural Operator for Parametric Partial Differential Equations"
    assert _ids(classify(title, papers[title], extended)) == {"operators"}


def _topics_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "topics.yaml"
    path.write_text(body, encoding="utf-8")
    return path


GOOD_TOPIC = """\
topics:
  - id: alpha
    title: Alpha
    description: About alpha.
    threshold: 1.0
    evidence:
      - {pattern: 'alpha', weight: 1.0}
"""


def _edit(old: str, new: str, base: str = GOOD_TOPIC) -> str:
    assert old in base
    return base.replace(old, new)


RULE = "      - {pattern: 'alpha', weight: 1.0}\n"
BAD_TOPICS = {
    "unknown-key": (_edit("Alpha\n", "Alpha\n    colour: red\n"), 4, "unknown key 'colour'"),
    "missing-id": (_edit("  - id: alpha\n    title", "  - title"), 2, "missing 'id'"),
    "duplicate-id": (GOOD_TOPIC + GOOD_TOPIC.split("topics:\n")[1], 8, "duplicate topic id"),
    "bad-regex": (_edit("'alpha'", "'(alpha'"), 7, "bad regular expression"),
    "empty-match": (_edit("'alpha'", "'a*'"), 7, "matches empty text"),
    "negative-weight": (_edit("weight: 1.0", "weight: -2"), 7, "weight must be a number"),
    "text-weight": (_edit("weight: 1.0", "weight: heavy"), 7, "weight must be a number"),
    "bool-weight": (_edit("weight: 1.0", "weight: true"), 7, "weight must be a number"),
    "bad-where": (_edit("1.0}", "1.0, where: body}"), 7, "'where' must be one of"),
    "zero-threshold": (_edit("threshold: 1.0", "threshold: 0"), 5, "threshold must be a number"),
    "reserved-id": (_edit("id: alpha", "id: Other"), 2, "lowercase letters"),
    "no-evidence": (_edit(RULE, ""), 6, "'evidence' must be"),
    "no-threshold": (_edit("    threshold: 1.0\n", ""), 2, "missing 'threshold'"),
    "topics-not-list": ("topics: {alpha: 1}\n", 1, "'topics' must be a list"),
    "bad-scoring": ("scoring:\n  title: 3.0\n  claim: lots\n" + GOOD_TOPIC, 3, "scoring.claim"),
    "yaml-syntax": (_edit("threshold: 1.0", "threshold: [1"), 6, "YAML error"),
}


@pytest.mark.parametrize(("body", "line", "needle"), BAD_TOPICS.values(), ids=BAD_TOPICS.keys())
def test_bad_topics_file_reports_line(tmp_path, body, line, needle):
    with pytest.raises(ContentError) as info:
        load_topics(_topics_file(tmp_path, body))
    assert info.value.line == line, str(info.value)
    assert needle in info.value.reason, str(info.value)
    assert str(info.value).startswith(f"{tmp_path / 'topics.yaml'}:{line}: ")


def test_unchecked_patterns_compile_on_use_and_check_topics_reports_them(tmp_path):
    bad = _topics_file(tmp_path, _edit("'alpha'", "'(alpha'"))
    (topic,) = load_topics(bad, check_patterns=False)  # as a build reads them: no compiling
    assert topic.evidence[0].pattern == "(alpha"
    with pytest.raises(ContentError, match="bad regular expression") as info:
        check_topics(bad)
    assert info.value.line == 7
    copy = pickle.loads(pickle.dumps(info.value))  # as it comes back from the build's helper
    assert (type(copy), copy.path, copy.line, str(copy)) == (
        ContentError, info.value.path, 7, str(info.value),
    )  # fmt: skip
    shipped = load_topics(TOPICS_FILE, check_patterns=False)
    assert shipped == load_topics(TOPICS_FILE)
    check_topics(TOPICS_FILE)
    marker = _edit("topics:\n", "claim_markers: ['we propose', '(x|)']\ntopics:\n")
    with pytest.raises(ContentError, match="matches empty text") as info:
        check_topics(_topics_file(tmp_path, marker))
    assert info.value.line == 1
    assert [r.regex for t in shipped for r in t.evidence] == [
        re.compile(r.pattern, re.IGNORECASE) for t in shipped for r in t.evidence
    ]


def test_good_minimal_topics_file(tmp_path):
    (topic,) = load_topics(_topics_file(tmp_path, GOOD_TOPIC))
    assert (topic.id, topic.title, topic.description, topic.threshold) == (
        "alpha", "Alpha", "About alpha.", 1.0,
    )  # fmt: skip
    assert classify("Alpha rays", "", (topic,))[0].score == pytest.approx(3.0)


# ------------------------------------------------------------------ labels and evaluation


def test_labels_reject_unknown_topic_with_line(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text('"Paper A": []\n"Paper B": [operators, quantum]\n', encoding="utf-8")
    with pytest.raises(ContentError) as info:
        load_labels(path, ["operators"])
    assert info.value.line == 2 and "quantum" in info.value.reason


def test_labels_reject_same_paper_twice(tmp_path):
    path = tmp_path / "labels.yaml"
    path.write_text('"Paper A": []\n"paper  a!": [operators]\n', encoding="utf-8")
    with pytest.raises(ContentError, match="repeats the paper"):
        load_labels(path)


def test_evaluate_matches_by_title_key_and_slug():
    title = "Über Pruning: Networks, Sparsely!"
    predicted = {title: ["pruning"], "Another Paper": []}
    labels = {slugify(title): {"pruning"}, "another paper": set(), "Lost": set()}
    report = evaluate(predicted, labels, ["pruning"])
    assert report.papers == 2 and report.missing == ("Lost",)
    assert report.topic("pruning").f1 == 1.0
    assert "pruning" in report.format() and "macro" in report.format()


def test_evaluate_counts_errors():
    predicted = {"A": ["x"], "B": ["x"], "C": [], "D": ["y"]}
    labels = {"A": {"x"}, "B": set(), "C": {"x"}, "D": {"y"}}
    report = evaluate(predicted, labels, ["x", "y"])
    x = report.topic("x")
    assert (x.tp, x.fp, x.fn, x.support) == (1, 1, 1, 2)
    assert x.precision == 0.5 and x.recall == 0.5 and x.f1 == 0.5
    assert report.macro_f1 == pytest.approx(0.75)
    assert ("FP", "x", "B") in report.mistakes and ("FN", "x", "C") in report.mistakes
