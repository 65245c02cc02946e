"""Ingest stage: digests in, one YAML entry per paper out, merged and classified.

Everything is read and modelled first (digests, entries, topics); files are written only
when the whole ingest has succeeded, each atomically, and only when their text changed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import cache, parallel
from .config import Config
from .digest import extract_links, parse_digest
from .errors import SurveyError
from .fsutil import (
    content_lock,
    inside,
    remove_stale_temporaries,
    require_inside,
    safe_files,
    staged_writes,
)
from .ledger import LedgerItem, ingest_stamp, load_ledger, record, save_ledger, today
from .models import Digest, Entry, Observation, PartialDate, Record, TopicMatch, Variant
from .slug import slugify, title_key
from .store import StoredEntry, entry_text, load_store
from .topics import Topic, classify, load_topics

Progress = Callable[[str], None]


@dataclass
class DigestReport:
    """What one digest contributed."""

    digest: str
    layout: str
    records: int
    new: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class IngestReport:
    """What an ingest did, per digest and in total."""

    digests: list[DigestReport] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    entries: int = 0

    def lines(self) -> list[str]:
        """Return a human summary, one line per digest plus a total."""
        out = [
            f"{d.digest} ({d.layout}): {d.records} papers: {d.new} new, {d.updated} updated, "
            f"{d.unchanged} unchanged"
            for d in self.digests
        ]
        out.append(f"{self.entries} entries in the survey; {len(self.written)} file(s) written")
        return out


def _clearly_different(a: str, b: str) -> bool:
    """Tell whether two abstracts are different texts rather than two copies of one."""
    wa, wb = set(re.findall(r"\w+", a.lower())), set(re.findall(r"\w+", b.lower()))
    if not wa or not wb:
        return wa != wb
    return len(wa & wb) / len(wa | wb) < 0.6


def _observation(rec: Record) -> Observation:
    return Observation(rec.digest, rec.position, rec.line, rec.authors, rec.upvotes, rec.date)


def _latest(observations: Sequence[Observation], attr: str) -> object:
    values = [getattr(o, attr) for o in observations if getattr(o, attr) is not None]
    return values[-1] if values else None


def _best_date(observations: Sequence[Observation]) -> PartialDate | None:
    dated = [o.date for o in observations if o.date is not None]
    with_year = [d for d in dated if d.year is not None]
    return (with_year or dated or [None])[-1]


def _derive(entry: Entry, topics: tuple[TopicMatch, ...]) -> Entry:
    """Set the topics and recompute the fields that follow from observations and abstracts."""
    seen = tuple(sorted(entry.seen_in, key=lambda o: (o.digest, o.position)))
    links = {
        link.url: link
        for text in (entry.abstract, *(v.abstract for v in entry.variants))
        for link in extract_links(text)
    }
    return replace(
        entry,
        seen_in=seen,
        authors=_latest(seen, "authors"),
        upvotes=_latest(seen, "upvotes"),
        date=_best_date(seen),
        links=tuple(links.values()),
        variants=tuple(sorted(entry.variants, key=lambda v: v.seen)),
        topics=topics,
    )


class _Merger:
    """Fold digest records into the known entries, keyed by title identity."""

    def __init__(self, store: dict[str, StoredEntry], papers_dir: Path) -> None:
        self.papers_dir = papers_dir
        self.entries: dict[str, Entry] = {slug: s.entry for slug, s in store.items()}
        self.by_key = {title_key(e.title): slug for slug, e in self.entries.items()}
        self.created_by: dict[str, str] = {}
        self.touched: set[str] = set()  # entries a record or a forgotten digest changed

    def forget(self, digest_ids: set[str]) -> None:
        """Drop observations and variants from digests about to be re-read."""
        for slug, entry in self.entries.items():
            if any(o.digest in digest_ids for o in entry.seen_in):
                seen = tuple(o for o in entry.seen_in if o.digest not in digest_ids)
                variants = tuple(
                    v for v in entry.variants if v.seen.split("#")[0] not in digest_ids
                )
                self.entries[slug] = replace(entry, seen_in=seen, variants=variants)
                self.touched.add(slug)

    def add(self, rec: Record) -> str:
        """Merge one record; return the slug of its entry."""
        key = title_key(rec.title)
        slug = self.by_key.get(key)
        if slug is None:
            return self._create(rec, key)
        entry = self.entries[slug]
        variants = entry.variants
        if (
            rec.abstract != entry.abstract
            and _clearly_different(rec.abstract, entry.abstract)
            and all(_clearly_different(rec.abstract, v.abstract) for v in variants)
        ):
            variants = (*variants, Variant(rec.abstract, f"{rec.digest}#{rec.position}"))
        seen = (*entry.seen_in, _observation(rec))
        self.entries[slug] = replace(entry, seen_in=seen, variants=variants)
        self.touched.add(slug)
        return slug

    def _create(self, rec: Record, key: str) -> str:
        slug = slugify(rec.title)
        if slug in self.entries:
            raise SurveyError(
                f"slug collision: {rec.title!r} and {self.entries[slug].title!r} both map to {slug}"
            )
        path = self.papers_dir / f"{slug}.yaml"
        self.entries[slug] = Entry(
            slug=slug,
            title=rec.title,
            abstract=rec.abstract,
            authors=None,
            date=None,
            upvotes=None,
            links=(),
            seen_in=(_observation(rec),),
            path=path,
        )
        self.by_key[key] = slug
        self.created_by[slug] = rec.digest
        self.touched.add(slug)
        return slug


@dataclass(frozen=True)
class _Finish:
    """What the workers that finish entries read (inherited when they fork, never pickled)."""

    entries: dict[str, Entry]
    store: dict[str, StoredEntry]
    topics: Sequence[Topic]
    rules: str  # content key of the topic rules
    known: dict[str, tuple]  # content key -> cached topic matches


_FINISH: list[_Finish] = []


def _finish_one(slug: str) -> tuple[str, tuple, str | None]:
    """Return the content key of an entry's scores, its topic matches and its file text.

    The text is None when rendering failed (the error is raised again by `_finish_all`).
    """
    job = _FINISH[0]
    entry = job.entries[slug]
    key = cache.content_key(job.rules, entry.title, entry.abstract)
    matches = job.known.get(key)
    if matches is None:
        matches = classify(entry.title, entry.abstract, job.topics)
    try:
        return key, matches, _render(entry, matches, job.store.get(slug))
    except SurveyError:
        return key, matches, None


def _render(entry: Entry, matches: tuple, previous: StoredEntry | None) -> str:
    """Return the file text of an entry with these topic matches."""
    return entry_text(_derive(entry, matches), previous)


def _finish_all(
    entries: dict[str, Entry],
    store: dict[str, StoredEntry],
    topics: Sequence[Topic],
    cache_dir: Path,
    stage: Callable[[str, str], None],
    everything: bool = True,
) -> dict[str, str]:
    """Classify (reusing scores for unchanged text and rules), derive and render entries.

    The work runs on every core when there are many entries; each entry's file text is
    handed to `stage` as it comes (so files are written while the rest is classified), and
    all are returned. Only a run over `everything` saves the scores (dropping those of
    removed entries).
    """
    known = cache.load(cache_dir, "topics")
    slugs = list(entries)
    _FINISH[:] = [_Finish(entries, store, topics, cache.content_key(topics), known)]
    texts: dict[str, str] = {}
    scores: list[tuple[str, tuple]] = []
    try:
        jobs = parallel.jobs_for(len(slugs), 500)
        for slug, (key, matches, text) in zip(
            slugs, parallel.imap_chunked(_finish_one, slugs, jobs, 64), strict=True
        ):
            if text is None:  # rendering failed in the worker: raise its error here
                text = _render(entries[slug], matches, store.get(slug))
            texts[slug] = text
            scores.append((key, matches))
            stage(slug, text)
    finally:
        _FINISH.clear()
    if everything:  # a partial ingest scores few entries: not worth rewriting the cache
        _save_scores(cache_dir, known, scores)
    return texts


def _save_scores(cache_dir: Path, known: dict[str, tuple], scores: list[tuple[str, tuple]]) -> None:
    """Keep the scores of the current entries for the next ingest, when they changed."""
    fresh = {key: known[key] for key, _ in scores if key in known}
    fresh.update((key, matches) for key, matches in scores if key not in known)
    if fresh.keys() != known.keys():
        cache.save(cache_dir, "topics", fresh)


def _finish(
    merger: _Merger,
    store: dict[str, StoredEntry],
    topics: Sequence[Topic],
    cache_dir: Path,
    touched_only: bool,
    stage: Callable[[str, str], None],
) -> dict[str, str]:
    """Return every entry's file text, deriving only the touched ones if so asked."""
    if not touched_only:
        return _finish_all(merger.entries, store, topics, cache_dir, stage)
    touched = {slug: merger.entries[slug] for slug in sorted(merger.touched)}
    texts = _finish_all(touched, store, topics, cache_dir, stage, everything=False)
    return {slug: texts[slug] if slug in texts else store[slug].text for slug in merger.entries}


def _resolve_paths(config: Config, paths: Sequence[Path] | None) -> dict[Path, Path]:
    """Map each digest to read to where it lives in `content/digests/`, in ingest order.

    A file from elsewhere is read where it is, so that its errors name it, and is copied in
    only with the entries it brings (`_ingest`): a failed ingest leaves no copy behind.
    """
    if not paths:
        return {path: path for path in safe_files(config.digests_dir, "*.txt", config.content_dir)}
    resolved = {}
    for path in paths:
        if not path.is_file():
            raise SurveyError(f"{path}: no such digest file")
        target = path if inside(path, config.digests_dir) else _import_target(path, config)
        resolved[target if target.exists() else path] = target
    return dict(sorted(resolved.items(), key=lambda item: item[1]))


def _import_target(path: Path, config: Config) -> Path:
    """Return where an outside digest goes; refuse a different file already there."""
    target = config.digests_dir / path.name
    if target.exists() and target.read_bytes() != path.read_bytes():
        raise SurveyError(f"{target} already exists with other content; rename {path.name}")
    return target


def _parse_all(
    paths: Sequence[Path], ledger: list[LedgerItem], date: dt.date | None, progress: Progress
) -> list[Digest]:
    known = {item.id: item.date for item in ledger}
    digests = []
    for path in paths:
        progress(f"reading {path.name}")
        digests.append(parse_digest(path, date or known.get(path.stem)))
    return digests


def ingest(
    config: Config,
    paths: Sequence[Path] | None = None,
    digest_date: dt.date | None = None,
    progress: Progress = lambda _msg: None,
    touched_only: bool = False,
) -> IngestReport:
    """Ingest digests into the entry store under the content lock.

    With `touched_only`, only the entries these digests add to or change are derived again;
    the caller vouches that nothing else they depend on (topic rules, ledger) has changed.
    """
    with content_lock(config.lock_file):
        return _ingest(config, paths, digest_date, progress, touched_only)


def _ingest(
    config: Config,
    paths: Sequence[Path] | None,
    digest_date: dt.date | None,
    progress: Progress,
    touched_only: bool,
) -> IngestReport:
    remove_stale_temporaries(config.papers_dir, ".*.tmp")
    remove_stale_temporaries(config.content_dir, ".digests.yaml.*.tmp")
    ledger = load_ledger(require_inside(config.ledger_file, config.content_dir))
    sources = _resolve_paths(config, paths)
    digests = _parse_all(list(sources), ledger, digest_date, progress)
    store = load_store(config.papers_dir, config.content_dir, config.cache_dir)
    topics = load_topics(require_inside(config.topics_file, config.content_dir))
    merger = _Merger(store, config.papers_dir)
    merger.forget({d.id for d in digests})
    slugs_by_digest = {d.id: [merger.add(rec) for rec in d.records] for d in digests}
    changed: set[str] = set()
    with staged_writes(len(merger.touched if touched_only else merger.entries)) as writes:

        def stage(slug: str, text: str) -> None:
            if slug not in store or store[slug].text != text:
                changed.add(slug)
                writes.add(config.papers_dir / f"{slug}.yaml", text)

        texts = _finish(merger, store, topics, config.cache_dir, touched_only, stage)
        for source, target in sources.items():
            if source != target:  # a digest from elsewhere, copied in with its entries
                writes.add(target, source.read_bytes())
        report = _report(digests, slugs_by_digest, merger.created_by, changed)
        report.entries = len(texts)
        report.written.extend(sorted(writes.commit()))
    for digest in digests:
        ledger = record(ledger, _ledger_item(digest, digest_date, ledger))
    stamp = ingest_stamp(ledger, config.topics_file, config.papers_dir)
    if save_ledger(config.ledger_file, ledger, stamp):
        report.written.append(config.ledger_file)
    return report


def _ledger_item(digest: Digest, date: dt.date | None, ledger: list[LedgerItem]) -> LedgerItem:
    previous = next((item.date for item in ledger if item.id == digest.id), None)
    return LedgerItem(
        id=digest.id,
        file=digest.path.name,
        sha256=digest.sha256,
        layout=digest.layout,
        page_date=digest.page_date,
        date=date or previous,
        ingested=today(),
        papers=len({title_key(r.title) for r in digest.records}),
    )


def _report(
    digests: Sequence[Digest],
    slugs: dict[str, list[str]],
    created_by: dict[str, str],
    changed: set[str],
) -> IngestReport:
    report = IngestReport()
    for digest in digests:
        row = DigestReport(digest.id, digest.layout, len(set(slugs[digest.id])))
        for slug in dict.fromkeys(slugs[digest.id]):
            if created_by.get(slug) == digest.id:
                row.new += 1
            elif slug in changed:
                row.updated += 1
            else:
                row.unchanged += 1
        report.digests.append(row)
    return report
