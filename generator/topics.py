"""Topic grouping: explainable weighted-phrase rules read from `content/topics.yaml`.

Each topic lists regex rules with weights. A rule that matches the title counts most, one
that matches a core-claim sentence of the abstract ("we propose ...") counts more than a
passing mention elsewhere, and `against` rules subtract. A paper belongs to a topic when its
score reaches the topic's threshold. Every score carries the evidence that produced it.

Also here: reading a hand-labelled set and measuring precision, recall and F1 against it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

from .errors import ContentError
from .models import TopicMatch
from .slug import slugify, title_key
from .yamlio import load_file

OTHER = "other"
_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]*")
_WHERE = ("any", "title", "abstract")
_TOP_KEYS = {"scoring", "claim_markers", "topics"}
_TOPIC_KEYS = {"id", "title", "description", "threshold", "scoring", "evidence", "against"}
_RULE_KEYS = {"pattern", "weight", "where", "label"}
_SCORING_KEYS = {"title", "claim", "body", "repeat", "max_repeats", "borderline"}
_MAX_WEIGHT = 1000.0

_Loc = tuple[str | int, ...]  # path of keys/indexes to a value in the YAML document


@dataclass(frozen=True)
class Rule:
    """One weighted regex: where it may match and how much it is worth."""

    pattern: str
    weight: float
    where: str = "any"
    label: str = ""

    @cached_property
    def regex(self) -> re.Pattern[str]:
        """Return the compiled pattern (compiled on first use: a build only shows rules)."""
        return re.compile(self.pattern, re.IGNORECASE)

    @property
    def name(self) -> str:
        """Return the label shown in evidence (the pattern when unlabelled)."""
        return self.label or self.pattern


@dataclass(frozen=True)
class Scoring:
    """Location multipliers and review margin shared by a topic's rules."""

    title: float = 3.0
    claim: float = 1.5
    body: float = 1.0
    repeat: float = 0.25
    max_repeats: int = 2
    borderline: float = 0.3
    claim_patterns: tuple[str, ...] = ()

    @cached_property
    def claim_markers(self) -> tuple[re.Pattern[str], ...]:
        """Return the compiled claim markers."""
        return tuple(re.compile(p, re.IGNORECASE) for p in self.claim_patterns)


@dataclass(frozen=True)
class Topic:
    """A survey topic and the evidence rules that decide membership."""

    id: str
    title: str
    description: str
    threshold: float
    evidence: tuple[Rule, ...]
    against: tuple[Rule, ...] = ()
    scoring: Scoring = field(default_factory=Scoring)


@dataclass(frozen=True)
class Borderline:
    """A paper whose score is close to a topic's threshold, for human review."""

    title: str
    topic: str
    score: float
    threshold: float
    assigned: bool
    evidence: tuple[str, ...]


# ---------------------------------------------------------------- loading topics.yaml


class _Lines:
    """Find the line of a value in a YAML document, by its path of keys and indexes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @cached_property
    def root(self) -> yaml.Node | None:
        """Compose the document's nodes, once and only when a line is asked for."""
        try:
            text = self.path.read_bytes().decode("utf-8-sig")
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return None  # load_file already reported anything unreadable

    def node(self, where: _Loc) -> yaml.Node | None:
        """Return the node at `where`, or the deepest existing ancestor."""
        node = self.root
        for step in where:
            child = self._child(node, step)
            if child is None:
                return node
            node = child
        return node

    def key(self, where: _Loc, key: str) -> int | None:
        """Return the line of the key `key` inside the mapping at `where`."""
        node = self.node(where)
        if isinstance(node, yaml.MappingNode):
            for key_node, _ in node.value:
                if key_node.value == key:
                    return key_node.start_mark.line + 1
        return self.line(where)

    def line(self, where: _Loc) -> int | None:
        """Return the 1-based line of the value at `where`."""
        node = self.node(where)
        return node.start_mark.line + 1 if node is not None else None

    @staticmethod
    def _child(node: yaml.Node | None, step: str | int) -> yaml.Node | None:
        if isinstance(node, yaml.MappingNode) and isinstance(step, str):
            return next((v for k, v in node.value if k.value == step), None)
        if isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            return node.value[step] if step < len(node.value) else None
        return None


class _Reader:
    """Validate topics.yaml data, raising ContentError with the offending line.

    Without `check_patterns` the regexes are taken as written, not compiled.
    """

    def __init__(self, path: Path, check_patterns: bool = True) -> None:
        self.path = path
        self.lines = _Lines(path)
        self.check_patterns = check_patterns

    def fail(self, where: _Loc, message: str, key: str | None = None) -> ContentError:
        """Build an error located at `where` (or at one of its keys)."""
        line = self.lines.key(where, key) if key else self.lines.line(where)
        return ContentError(self.path, line, message)

    def mapping(self, value: Any, where: _Loc, allowed: set[str], what: str) -> dict:
        """Check that `value` is a mapping whose keys are all allowed."""
        if not isinstance(value, dict):
            raise self.fail(where, f"{what} must be a mapping, not {_kind(value)}")
        for key in value:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.fail(where, f"unknown key {key!r} in {what} (known: {known})", str(key))
        return value

    def text(self, data: dict, key: str, where: _Loc, what: str) -> str:
        """Return a required non-empty string field."""
        if key not in data:
            raise self.fail(where, f"{what} is missing {key!r}")
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail((*where, key), f"{what}: {key!r} must be non-empty text")
        return value.strip()

    def number(self, value: Any, where: _Loc, what: str, low: float, high: float) -> float:
        """Return a finite number within [low, high]."""
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or not low <= value <= high:
            raise self.fail(
                where, f"{what} must be a number from {low:g} to {high:g}, got {value!r}"
            )
        return float(value)

    def regex(self, value: Any, where: _Loc, what: str) -> str:
        """Return a case-insensitive regex that compiles and cannot match empty text."""
        if not isinstance(value, str) or not value:
            raise self.fail(where, f"{what} must be a non-empty regular expression")
        if not self.check_patterns:
            return value
        try:
            compiled = re.compile(value, re.IGNORECASE)
        except re.error as exc:
            raise self.fail(where, f"{what}: bad regular expression {value!r}: {exc}") from None
        if compiled.search("") is not None:
            raise self.fail(where, f"{what}: pattern {value!r} matches empty text")
        return value

    def scoring(self, value: Any, where: _Loc, base: Scoring) -> Scoring:
        """Return `base` with the overrides given at `where`."""
        if value is None:
            return base
        data = self.mapping(value, where, _SCORING_KEYS, "scoring")
        changes: dict[str, Any] = {}
        for key, raw in data.items():
            high = 1.0 if key == "borderline" else 100.0
            num = self.number(raw, (*where, key), f"scoring.{key}", 0.0, high)
            if key == "max_repeats":
                if num != int(num):
                    raise self.fail((*where, key), "scoring.max_repeats must be a whole number")
                num = int(num)
            changes[key] = num
        return replace(base, **changes)

    def markers(self, value: Any, where: _Loc) -> tuple[str, ...]:
        """Return the claim markers' patterns."""
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(where, f"claim_markers must be a list of regexes, not {_kind(value)}")
        return tuple(self.regex(v, (*where, i), "claim marker") for i, v in enumerate(value))

    def rule(self, value: Any, where: _Loc) -> Rule:
        """Return one validated rule."""
        data = self.mapping(value, where, _RULE_KEYS, "rule")
        if "pattern" not in data:
            raise self.fail(where, "rule is missing 'pattern'")
        if "weight" not in data:
            raise self.fail(where, "rule is missing 'weight'")
        pattern = self.regex(data["pattern"], (*where, "pattern"), "pattern")
        weight = self.number(data["weight"], (*where, "weight"), "weight", 1e-9, _MAX_WEIGHT)
        where_ = data.get("where", "any")
        if where_ not in _WHERE:
            raise self.fail((*where, "where"), f"'where' must be one of {', '.join(_WHERE)}")
        label = data.get("label", "")
        if not isinstance(label, str):
            raise self.fail((*where, "label"), "'label' must be text")
        return Rule(pattern, weight, where_, label.strip())

    def rules(self, data: dict, key: str, where: _Loc, required: bool) -> tuple[Rule, ...]:
        """Return the rule list under `key`."""
        value = data.get(key)
        if value is None and not required:
            return ()
        if not isinstance(value, list) or (required and not value):
            raise self.fail(where, f"{key!r} must be a non-empty list of rules", key)
        return tuple(self.rule(v, (*where, key, i)) for i, v in enumerate(value))

    def topic(self, value: Any, where: _Loc, base: Scoring) -> Topic:
        """Return one validated topic."""
        data = self.mapping(value, where, _TOPIC_KEYS, "topic")
        topic_id = self.text(data, "id", where, "topic")
        if not _ID_RE.fullmatch(topic_id) or topic_id == OTHER:
            raise self.fail(
                (*where, "id"),
                f"topic id {topic_id!r}: use lowercase letters, digits and dashes (not {OTHER!r})",
            )
        what = f"topic {topic_id!r}"
        if "threshold" not in data:
            raise self.fail(where, f"{what} is missing 'threshold'")
        return Topic(
            id=topic_id,
            title=self.text(data, "title", where, what),
            description=" ".join(self.text(data, "description", where, what).split()),
            threshold=self.number(data["threshold"], (*where, "threshold"), "threshold", 1e-9, 1e6),
            evidence=self.rules(data, "evidence", where, required=True),
            against=self.rules(data, "against", where, required=False),
            scoring=self.scoring(data.get("scoring"), (*where, "scoring"), base),
        )

    def document(self, data: Any) -> tuple[Topic, ...]:
        """Return every topic in the file, checking ids are unique."""
        data = self.mapping(data, (), _TOP_KEYS, "topics file")
        markers = self.markers(data.get("claim_markers"), ("claim_markers",))
        base = self.scoring(data.get("scoring"), ("scoring",), Scoring(claim_patterns=markers))
        raw = data.get("topics")
        if not isinstance(raw, list):
            raise self.fail((), "'topics' must be a list of topics", "topics" if raw else None)
        topics: list[Topic] = []
        for i, value in enumerate(raw):
            topic = self.topic(value, ("topics", i), base)
            if any(t.id == topic.id for t in topics):
                raise self.fail(("topics", i, "id"), f"duplicate topic id {topic.id!r}")
            topics.append(topic)
        return tuple(topics)


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def load_topics(path: Path, check_patterns: bool = True) -> tuple[Topic, ...]:
    """Read and validate the topic definitions, in file order.

    Without `check_patterns` the rules' regexes are neither compiled nor checked (a build
    shows rules but does not run them; it calls `check_topics` after writing the pages).
    """
    data = load_file(path)  # first: it rejects oversized, aliased or malformed YAML
    return _Reader(path, check_patterns).document(data)


def check_topics(path: Path) -> None:
    """Raise ContentError if the topic definitions, patterns included, are not valid."""
    load_topics(path)


# ---------------------------------------------------------------- scoring


def score_topic(title: str, abstract: str, topic: Topic) -> TopicMatch:
    """Score one paper against one topic, keeping the evidence that fired."""
    return _score(title, abstract, topic)


def clear_cache() -> None:
    """Forget memoised scores (scoring is pure; this only frees memory)."""
    from . import topicscore

    _score.cache_clear()
    topicscore.clear_cache()


@lru_cache(maxsize=16384)
def _score(title: str, abstract: str, topic: Topic) -> TopicMatch:
    from . import topicscore

    return topicscore.scorer((topic,)).score(title, abstract)[0]


def score_topics(title: str, abstract: str, topics: Sequence[Topic]) -> tuple[TopicMatch, ...]:
    """Score one paper against every topic, in topic order."""
    from . import topicscore

    return topicscore.scorer(topics).score(title, abstract)


def classify(title: str, abstract: str, topics: Sequence[Topic]) -> tuple[TopicMatch, ...]:
    """Return the topics a paper belongs to (score at or above threshold), in topic order."""
    scores = score_topics(title, abstract, topics)
    return tuple(m for m, t in zip(scores, topics, strict=True) if m.score >= t.threshold)


def topic_counts(papers: Iterable[tuple[str, str]], topics: Sequence[Topic]) -> dict[str, int]:
    """Count papers per topic id, plus `other` for papers in no topic."""
    counts = dict.fromkeys([t.id for t in topics] + [OTHER], 0)
    for title, abstract in papers:
        matches = classify(title, abstract, topics)
        for match in matches:
            counts[match.topic] += 1
        counts[OTHER] += not matches
    return counts


def borderline(
    papers: Iterable[tuple[str, str]], topics: Sequence[Topic], margin: float | None = None
) -> list[Borderline]:
    """List (title, abstract) papers scoring within `margin` x threshold of a topic's threshold.

    `margin` defaults to each topic's `scoring.borderline`. Sorted by topic order, then by
    distance to the threshold, then by title.
    """
    found: list[tuple[int, float, str, Borderline]] = []
    for title, abstract in papers:
        for rank, topic in enumerate(topics):
            match = score_topic(title, abstract, topic)
            frac = topic.scoring.borderline if margin is None else margin
            gap = abs(match.score - topic.threshold)
            if match.score > 0 and gap <= frac * topic.threshold:
                item = Borderline(
                    title, topic.id, match.score, topic.threshold,
                    match.score >= topic.threshold, match.evidence,
                )  # fmt: skip
                found.append((rank, gap, title_key(title), item))
    return [item for *_, item in sorted(found, key=lambda f: f[:3])]


def format_review(papers: Sequence[tuple[str, str]], topics: Sequence[Topic]) -> str:
    """Render paper counts per topic and the borderline papers, for `survey topics`."""
    counts = topic_counts(papers, topics)
    width = max(len(key) for key in counts)
    lines = [f"{key:<{width}}  {count:>5}" for key, count in counts.items()]
    items = borderline(papers, topics)
    lines += ["", f"borderline papers ({len(items)}):" if items else "no borderline papers"]
    for item in items:
        mark = "in " if item.assigned else "out"
        lines.append(f"  {mark} {item.topic} {item.score:.2f}/{item.threshold:g}  {item.title}")
        lines += [f"        {evidence}" for evidence in item.evidence]
    return "\n".join(lines)


# ---------------------------------------------------------------- labels and evaluation


def load_labels(path: Path, known: Iterable[str] | None = None) -> dict[str, frozenset[str]]:
    """Read a labels file: paper title or slug -> list of topic ids (empty list = Other)."""
    data = load_file(path)
    reader = _Reader(path)
    if not isinstance(data, dict):
        raise reader.fail(
            (), f"labels file must be a mapping of title -> topic ids, not {_kind(data)}"
        )
    known_ids = set(known) if known is not None else None
    seen: dict[str, str] = {}
    labels: dict[str, frozenset[str]] = {}
    for key, value in data.items():
        if not isinstance(key, str) or not key.strip():
            raise reader.fail((), f"paper key {key!r} must be a title or slug")
        where = (key,)
        if title_key(key) in seen:
            raise reader.fail(where, f"{key!r} repeats the paper {seen[title_key(key)]!r}")
        seen[title_key(key)] = key
        ids = [] if value is None else value
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise reader.fail(where, f"topics of {key!r} must be a list of topic ids")
        unknown = sorted(set(ids) - known_ids) if known_ids is not None else []
        if unknown:
            raise reader.fail(where, f"unknown topic id(s) for {key!r}: {', '.join(unknown)}")
        labels[key] = frozenset(ids)
    return labels


@dataclass(frozen=True)
class TopicScore:
    """Precision, recall and F1 for one topic."""

    topic: str
    support: int
    predicted: int
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        """Return tp / predicted (1.0 when nothing was predicted)."""
        return self.tp / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        """Return tp / support (1.0 when there is nothing to find)."""
        return self.tp / self.support if self.support else 1.0

    @property
    def f1(self) -> float:
        """Return the harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class EvalReport:
    """Per-topic and macro-averaged scores of predictions against labels."""

    topics: tuple[TopicScore, ...]
    papers: int
    missing: tuple[str, ...] = ()
    mistakes: tuple[tuple[str, str, str], ...] = ()  # (kind "FP"/"FN", topic, title)

    def topic(self, topic_id: str) -> TopicScore:
        """Return the scores of one topic."""
        return next(t for t in self.topics if t.topic == topic_id)

    @property
    def macro_precision(self) -> float:
        """Return the mean precision over topics."""
        return _mean(t.precision for t in self.topics)

    @property
    def macro_recall(self) -> float:
        """Return the mean recall over topics."""
        return _mean(t.recall for t in self.topics)

    @property
    def macro_f1(self) -> float:
        """Return the mean F1 over topics."""
        return _mean(t.f1 for t in self.topics)

    def format(self, mistakes: bool = False) -> str:
        """Render a plain-text table (and optionally the misclassified papers)."""
        width = max([len("topic"), len("macro")] + [len(t.topic) for t in self.topics])
        head = f"{'topic':<{width}}  support  predicted   tp   fp   fn  precision  recall     f1"
        rows = [head, "-" * len(head)]
        for t in self.topics:
            counts = f"{t.support:>7}  {t.predicted:>9}  {t.tp:>3}  {t.fp:>3}  {t.fn:>3}"
            rows.append(f"{t.topic:<{width}}  {counts}  {_scores(t.precision, t.recall, t.f1)}")
        macro = _scores(self.macro_precision, self.macro_recall, self.macro_f1)
        rows += ["-" * len(head), f"{'macro':<{width}}  {'':>7}  {'':>9}  {'':>13}  {macro}"]
        rows.append(f"papers evaluated: {self.papers}; labels without a paper: {len(self.missing)}")
        rows += [f"  missing: {title}" for title in self.missing]
        if mistakes:
            rows += [f"  {kind} {topic}: {title}" for kind, topic, title in self.mistakes]
        return "\n".join(rows)


def _scores(p: float, r: float, f: float) -> str:
    return f"{p:>9.3f}  {r:>6.3f}  {f:>5.3f}"


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0


def _index(keys: Iterable[str]) -> dict[str, str]:
    """Map title keys and slugs of the predicted papers to their original key."""
    index: dict[str, str] = {}
    for key in keys:
        index.setdefault(title_key(key), key)
        index.setdefault("slug:" + slugify(key), key)
        index.setdefault("slug:" + key, key)
    return index


def evaluate(
    predicted: Mapping[str, Iterable[str]],
    labels: Mapping[str, Iterable[str]],
    topic_ids: Sequence[str],
) -> EvalReport:
    """Compare predicted topics with labels, matching papers by title key or slug."""
    index = _index(predicted)
    pairs: list[tuple[str, frozenset[str], frozenset[str]]] = []
    missing: list[str] = []
    for label_key, truth in labels.items():
        found = index.get(title_key(label_key)) or index.get("slug:" + label_key)
        if found is None:
            missing.append(label_key)
        else:
            pairs.append((found, frozenset(truth), frozenset(predicted[found])))
    scores, mistakes = [], []
    for topic in topic_ids:
        tp = sum(topic in t and topic in p for _, t, p in pairs)
        fps = [k for k, t, p in pairs if topic in p and topic not in t]
        fns = [k for k, t, p in pairs if topic in t and topic not in p]
        support = sum(topic in t for _, t, _ in pairs)
        scores.append(TopicScore(topic, support, tp + len(fps), tp, len(fps), len(fns)))
        mistakes += [("FP", topic, k) for k in fps] + [("FN", topic, k) for k in fns]
    return EvalReport(tuple(scores), len(pairs), tuple(missing), tuple(mistakes))
