"""Topic scoring: every rule of some topics against one paper, with literal prefilters.

The result is exactly what running each rule's regex on the cleaned title, the cleaned
abstract and each of its sentences gives (see `topics.py` for the rules themselves); the
prefilters (`prefilter.py`) only skip regex searches that cannot match. A rule's regex runs
on a text only when the words of that text hold every literal clause of the rule.
"""

from __future__ import annotations

import functools
import operator
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING

from .models import TopicMatch
from .prefilter import PieceIndex, Prefilter, admits, analyse

if TYPE_CHECKING:
    from .topics import Rule, Scoring, Topic

_URL_RE = re.compile(r"https?://\S+|\b(?:www\.|github\.com/|gitlab\.com/)\S+", re.IGNORECASE)
_URL_LOWER_RE = re.compile(r"https?://\S+|w(?<!\ww)ww\.\S+|g(?<!\wg)it(?:hub|lab)\.com/\S+")
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2212"), "-")
_LATEX_ACCENT = re.compile(r"\\[\"'`^~]")
_SENTENCE_END = re.compile(r"[.!?]\s+(?=[A-Z0-9(\[\"'])")

Hit = tuple[float, str]


# ---------------------------------------------------------------- text preparation


@lru_cache(maxsize=4096)
def clean(text: str) -> str:
    """Normalise text for matching: NFKC, ASCII dashes, no URLs or TeX accents, single spaces."""
    if text.isascii():  # NFKC and the dash table leave ASCII as it is
        text = _without_urls(text)
    else:
        text = _URL_RE.sub(" ", unicodedata.normalize("NFKC", text).translate(_DASHES))
    if "\\" in text:
        text = _LATEX_ACCENT.sub("", text)
    if text.isascii() and text.isprintable() and "  " not in text and text[:1] != " " != text[-1:]:
        return text  # its only white space is single inner spaces already
    return " ".join(text.split())


def _without_urls(text: str) -> str:
    """Replace each URL by a space, as `_URL_RE.sub(" ", text)` does, for ASCII text.

    The match runs on the lower-cased text (same length) with a case-sensitive regex whose
    branches all start with a letter, so the engine skips ahead to the few candidates.
    """
    pieces, last = [], 0
    for match in _URL_LOWER_RE.finditer(text.lower()):
        pieces += (text[last : match.start()], " ")
        last = match.end()
    return "".join(pieces) + text[last:] if pieces else text


@lru_cache(maxsize=4096)
def prepare(abstract: str) -> tuple[str, tuple[str, ...]]:
    """Return an abstract's cleaned text and its sentences."""
    text = clean(abstract)
    return text, tuple(s for s in _sentences_of(text) if s)


def _sentences_of(text: str) -> list[str]:
    """Split text at white space after `.`, `!` or `?` and before a capital, digit or opening.

    The same pieces as `re.split(r"(?<=[.!?])\\s+(?=[A-Z0-9(\\[\"'])", text)`.
    """
    parts, start = [], 0
    for match in _SENTENCE_END.finditer(text):  # the full stop first lets the engine skip ahead
        parts.append(text[start : match.start() + 1])
        start = match.end()
    parts.append(text[start:])
    return parts


@lru_cache(maxsize=65536)
def is_claim(sentence: str, markers: tuple[re.Pattern[str], ...]) -> bool:
    """Tell whether a sentence states a core claim ("we propose ...")."""
    return any(marker.search(sentence) for marker in markers)


def _quote(match: re.Match[str]) -> str:
    return '"' + " ".join(match.group(0).split())[:60] + '"'


@lru_cache(maxsize=256)
def any_evidence(topic: Topic) -> re.Pattern[str] | None:
    """Return one regex matching wherever any evidence rule could, to skip hopeless papers."""
    if not topic.evidence:
        return None
    return re.compile("|".join(f"(?:{rule.pattern})" for rule in topic.evidence), re.IGNORECASE)


# ---------------------------------------------------------------- one paper, prefiltered


@dataclass(frozen=True, slots=True)
class _Text:
    """A text to match and the indexes of the rules whose regex may match it."""

    text: str
    admitted: frozenset[int]


@dataclass(frozen=True, slots=True)
class _Paper:
    """A paper's cleaned title and abstract, its sentences and the words they hold."""

    title: _Text
    abstract: _Text
    sentences: tuple[str, ...]
    sentence_pieces: tuple[int, ...] | None  # piece masks; None: not prefiltered (non-ASCII)
    admitted: frozenset[int]  # rules that may match the title or the abstract


@dataclass(frozen=True, slots=True)
class _RulePlan:
    """A rule, its position among the scorer's rules, its prefilter and its clause masks."""

    index: int
    rule: Rule
    filter: Prefilter
    masks: tuple[int, ...] = ()


@dataclass(frozen=True)
class _TopicPlan:
    """A topic's rule indexes, and how to screen out papers without any evidence."""

    topic: Topic
    evidence: frozenset[int]
    against: frozenset[int]
    screen: re.Pattern[str] | None
    by_rules: bool  # the screen equals "some evidence rule matches" (no back-references)


class Scorer:
    """Score papers against a fixed sequence of topics."""

    def __init__(self, topics: Sequence[Topic]) -> None:
        self.topics = tuple(topics)
        self.rules: list[_RulePlan] = []
        self.plans = [self._plan(topic) for topic in self.topics]
        self.index = PieceIndex(p for r in self.rules for c in r.filter.clauses for p in c)
        self.rules = [replace(r, masks=self.index.masks(r.filter.clauses)) for r in self.rules]
        self.always = frozenset(r.index for r in self.rules if not r.masks)
        self.every = frozenset(r.index for r in self.rules)
        self.filtered = [(r.index, r.masks) for r in self.rules if r.masks]

    def _plan(self, topic: Topic) -> _TopicPlan:
        evidence = frozenset(map(self._add, topic.evidence))
        against = frozenset(map(self._add, topic.against))
        screen = any_evidence(topic)  # compiled first: a bad combination fails as it always did
        by_rules = not any(self.rules[i].filter.backrefs for i in evidence)
        return _TopicPlan(topic, evidence, against, screen, by_rules)

    def _add(self, rule: Rule) -> int:
        """Plan a rule; return its index (indexes follow the order rules are added in)."""
        self.rules.append(_RulePlan(len(self.rules), rule, analyse(rule.regex)))
        return len(self.rules) - 1

    def score(self, title: str, abstract: str) -> tuple[TopicMatch, ...]:
        """Score one paper against every topic, in topic order."""
        paper = self._paper(title, abstract)
        return tuple(self._topic(plan, paper) for plan in self.plans)

    # ------------------------------------------------------------ prefiltering

    def _paper(self, title: str, abstract: str) -> _Paper:
        text, sentences = prepare(abstract)
        head = self._text(clean(title))
        if not text.isascii():
            return _Paper(head, _Text(text, self.every), sentences, None, self.every)
        pieces = tuple(self.index.present_in_parts(sentences))
        body = _Text(text, self._admitted(functools.reduce(operator.or_, pieces, 0)))
        return _Paper(head, body, sentences, pieces, head.admitted | body.admitted)

    def _text(self, text: str) -> _Text:
        if not text.isascii():
            return _Text(text, self.every)
        return _Text(text, self._admitted(self.index.present(text)))

    def _admitted(self, present: int) -> frozenset[int]:
        """Return the indexes of the rules whose clauses the `present` pieces all meet."""
        return self.always | frozenset(
            [i for i, masks in self.filtered if present & masks[0] and admits(masks, present)]
        )

    # ------------------------------------------------------------ scoring

    def _topic(self, plan: _TopicPlan, paper: _Paper) -> TopicMatch:
        nothing = TopicMatch(plan.topic.id, 0.0, ())  # no evidence at all: against cannot matter
        evidence = self._rules(plan.evidence, paper)
        if plan.by_rules and not evidence:
            return nothing
        scoring = plan.topic.scoring
        hits = _hits(evidence, paper, scoring, 1)
        if not self._screened(plan, evidence, paper, bool(hits)):
            return nothing
        hits += _hits(self._rules(plan.against, paper), paper, scoring, -1)
        ordered = sorted(enumerate(hits), key=lambda ih: (-abs(ih[1][0]), ih[0]))
        score = round(sum(value for value, _ in hits), 2)
        return TopicMatch(plan.topic.id, score + 0.0, tuple(text for _, (_, text) in ordered))

    def _rules(self, indexes: frozenset[int], paper: _Paper) -> list[_RulePlan]:
        """Return, in file order, the rules among `indexes` that may match the paper."""
        return [self.rules[i] for i in sorted(indexes & paper.admitted)]

    @staticmethod
    def _screened(
        plan: _TopicPlan, evidence: list[_RulePlan], paper: _Paper, evidence_hit: bool
    ) -> bool:
        """Tell whether any evidence rule matches the title or the abstract anywhere."""
        if plan.screen is None:
            return False
        if not plan.by_rules:
            title, text = paper.title.text, paper.abstract.text
            return bool(plan.screen.search(title) or plan.screen.search(text))
        if evidence_hit:
            return True  # a hit is a match in the title or in a sentence of the abstract
        return any(_unscored_match(r, paper) for r in evidence)


def _hits(rules: list[_RulePlan], paper: _Paper, scoring: Scoring, sign: int) -> list[Hit]:
    """Return the signed hits of these rules, each rule's title hit before its abstract hit."""
    hits: list[Hit] = []
    for plan in rules:
        for hit in (_title_hit(plan, paper, scoring), _abstract_hit(plan, paper, scoring)):
            if hit is not None:
                value = sign * hit[0]
                hits.append((value, f"{value:+.2f} {hit[1]} [{plan.rule.name}]"))
    return hits


def _search(plan: _RulePlan, text: _Text) -> re.Match[str] | None:
    return plan.rule.regex.search(text.text) if plan.index in text.admitted else None


def _unscored_match(plan: _RulePlan, paper: _Paper) -> bool:
    """Tell whether a rule without hits matches where it is not scored, or across sentences."""
    where, flt = plan.rule.where, plan.filter
    if where == "abstract" and _search(plan, paper.title):
        return True
    if where != "title" and flt.sentence_bound:
        return False  # its sentences were searched and gave no hit
    if where == "title" and flt.sentence_bound and plan.index in paper.abstract.admitted:
        return any(plan.rule.regex.search(s) for s in _sentences(plan, paper))
    return _search(plan, paper.abstract) is not None


def _title_hit(plan: _RulePlan, paper: _Paper, scoring: Scoring) -> Hit | None:
    if plan.rule.where == "abstract":
        return None
    match = _search(plan, paper.title)
    if match is None:
        return None
    return plan.rule.weight * scoring.title, f"title {_quote(match)}"


def _abstract_hit(plan: _RulePlan, paper: _Paper, scoring: Scoring) -> Hit | None:
    rule = plan.rule
    if rule.where == "title" or plan.index not in paper.abstract.admitted:
        return None
    if not plan.filter.local and not rule.regex.search(paper.abstract.text):
        return None  # a local rule's sentence match is a match in the whole text anyway
    hits = [(s, m) for s in _sentences(plan, paper) if (m := rule.regex.search(s))]
    if not hits:
        return None
    claims = [m for s, m in hits if is_claim(s, scoring.claim_markers)]
    best, place = (claims[0], "claim") if claims else (hits[0][1], "abstract")
    extra = min(len(hits) - 1, scoring.max_repeats)
    value = rule.weight * ((scoring.claim if claims else scoring.body) + scoring.repeat * extra)
    times = f" x{len(hits)}" if len(hits) > 1 else ""
    return value, f"{place} {_quote(best)}{times}"


def _sentences(plan: _RulePlan, paper: _Paper) -> Sequence[str]:
    """Return the sentences the rule may match, in order."""
    if paper.sentence_pieces is None:
        return paper.sentences
    masks = plan.masks
    return [
        s
        for s, pieces in zip(paper.sentences, paper.sentence_pieces, strict=True)
        if all(map(pieces.__and__, masks))
    ]


_SCORERS: dict[tuple[int, ...], Scorer] = {}
_MAX_SCORERS = 8  # one per topic and one for all topics is what an ingest or report uses


def scorer(topics: Sequence[Topic]) -> Scorer:
    """Return the scorer of these topic objects (built once; it keeps them alive)."""
    key = tuple(map(id, topics))
    found = _SCORERS.pop(key, None) or Scorer(topics)
    _SCORERS[key] = found  # most recently used last
    while len(_SCORERS) > _MAX_SCORERS:
        del _SCORERS[next(iter(_SCORERS))]
    return found


def clear_cache() -> None:
    """Forget memoised texts, scorers and their word memos (this only frees memory)."""
    _SCORERS.clear()
    for cached in (prepare, clean, is_claim, any_evidence):
        cached.cache_clear()
