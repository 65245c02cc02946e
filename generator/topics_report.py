"""The `survey topics` reports: counts per topic, borderline papers, evaluation against labels."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from .config import Config
from .site import OTHER_ID
from .store import load_store
from .topics import borderline, evaluate, load_labels, load_topics


def _visible(config: Config) -> list:
    store = load_store(config.papers_dir, config.content_dir, config.cache_dir)
    return [
        s.entry
        for s in sorted(store.values(), key=lambda s: s.entry.slug)
        if not s.entry.curated.hidden
    ]


def topic_summary(config: Config, margin: float | None) -> list[str]:
    """Return counts per topic (curated overrides applied) and the borderline papers."""
    topics = load_topics(config.topics_file)
    entries = _visible(config)
    counts = Counter(t for e in entries for t in e.topic_ids)
    counts[OTHER_ID] = sum(1 for e in entries if not e.topic_ids)
    overridden = sum(1 for e in entries if e.curated.topics is not None)
    lines = [f"{len(entries)} papers; {overridden} with a curated topic override"]
    width = max(len(t.id) for t in topics) + 2
    lines += [f"  {t.id:<{width}}{counts[t.id]:>6}  {t.title}" for t in topics]
    lines.append(f"  {OTHER_ID:<{width}}{counts[OTHER_ID]:>6}  in no topic")
    items = borderline([(e.title, e.abstract) for e in entries], topics, margin)
    lines += [
        "",
        f"Borderline papers to review ({len(items)}):" if items else "No borderline papers.",
    ]
    for item in items:
        verdict = "in " if item.assigned else "out"
        lines.append(
            f"  {verdict} {item.topic:<{width}}{item.score:6.2f} / {item.threshold:g}  {item.title}"
        )
        lines += [f"        {evidence}" for evidence in item.evidence[:4]]
    return lines


def evaluate_store(config: Config, labels_path: Path) -> list[str]:
    """Compare the assignment (curated overrides applied) with a labels file."""
    topics = load_topics(config.topics_file)
    ids = [t.id for t in topics]
    labels = load_labels(labels_path, known=[*ids, OTHER_ID])
    predicted: dict[str, list[str]] = {}
    for entry in _visible(config):
        predicted[entry.title] = list(entry.topic_ids)
        predicted[entry.slug] = list(entry.topic_ids)
    report = evaluate(predicted, labels, ids)
    return report.format(mistakes=True).splitlines()
