"""The topic scorer as first written (every regex on every text), kept as the test oracle.

`generator.topicscore` must give exactly what this gives: same scores, same evidence strings,
same order. This copy runs no prefilter and caches nothing, so it is slow but obviously right.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence

from generator.models import TopicMatch
from generator.topics import Rule, Scoring, Topic

_URL_RE = re.compile(r"https?://\S+|\b(?:www\.|github\.com/|gitlab\.com/)\S+", re.IGNORECASE)
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2212"), "-")
_LATEX_ACCENT = re.compile(r"\\[\"'`^~]")
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[\"'])")


def clean(text: str) -> str:
    """Normalise text the way the scorer always has."""
    text = unicodedata.normalize("NFKC", text).translate(_DASHES)
    text = _LATEX_ACCENT.sub("", _URL_RE.sub(" ", text))
    return " ".join(text.split())


def prepare(abstract: str) -> tuple[str, tuple[str, ...]]:
    """Return the cleaned abstract and its sentences."""
    text = clean(abstract)
    return text, tuple(s for s in _SENTENCE_RE.split(text) if s)


def _is_claim(sentence: str, markers: tuple[re.Pattern[str], ...]) -> bool:
    return any(marker.search(sentence) for marker in markers)


def _quote(match: re.Match[str]) -> str:
    return '"' + " ".join(match.group(0).split())[:60] + '"'


def _title_hit(rule: Rule, title: str, scoring: Scoring) -> tuple[float, str] | None:
    if rule.where == "abstract":
        return None
    match = rule.regex.search(title)
    if match is None:
        return None
    return rule.weight * scoring.title, f"title {_quote(match)}"


def _abstract_hit(rule: Rule, abstract: str, scoring: Scoring) -> tuple[float, str] | None:
    text, sentences = prepare(abstract)
    if rule.where == "title" or not rule.regex.search(text):
        return None
    hits = [(s, m) for s in sentences if (m := rule.regex.search(s))]
    if not hits:
        return None
    claims = [m for s, m in hits if _is_claim(s, scoring.claim_markers)]
    best, place = (claims[0], "claim") if claims else (hits[0][1], "abstract")
    extra = min(len(hits) - 1, scoring.max_repeats)
    value = rule.weight * ((scoring.claim if claims else scoring.body) + scoring.repeat * extra)
    times = f" x{len(hits)}" if len(hits) > 1 else ""
    return value, f"{place} {_quote(best)}{times}"


def _rule_hits(
    rule: Rule, title: str, abstract: str, scoring: Scoring, sign: int
) -> Iterator[tuple[float, str]]:
    for hit in (_title_hit(rule, title, scoring), _abstract_hit(rule, abstract, scoring)):
        if hit is not None:
            value, where = hit
            yield sign * value, f"{sign * value:+.2f} {where} [{rule.name}]"


def _any_evidence(topic: Topic) -> re.Pattern[str] | None:
    if not topic.evidence:
        return None
    return re.compile("|".join(f"(?:{rule.pattern})" for rule in topic.evidence), re.IGNORECASE)


def score(title: str, abstract: str, topic: Topic) -> TopicMatch:
    """Score one paper against one topic."""
    clean_title = clean(title)
    screen = _any_evidence(topic)
    if screen is None or not (screen.search(clean_title) or screen.search(prepare(abstract)[0])):
        return TopicMatch(topic.id, 0.0, ())
    hits = [
        hit
        for rules, sign in ((topic.evidence, 1), (topic.against, -1))
        for rule in rules
        for hit in _rule_hits(rule, clean_title, abstract, topic.scoring, sign)
    ]
    ordered = sorted(enumerate(hits), key=lambda ih: (-abs(ih[1][0]), ih[0]))
    total = round(sum(value for value, _ in hits), 2)
    return TopicMatch(topic.id, total + 0.0, tuple(text for _, (_, text) in ordered))


def score_all(title: str, abstract: str, topics: Sequence[Topic]) -> tuple[TopicMatch, ...]:
    """Score one paper against every topic, in topic order."""
    return tuple(score(title, abstract, topic) for topic in topics)
