"""Model stage: turn entries, topics, digests and prose into the typed site, before writing."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup

from .config import Config
from .errors import ContentError
from .fsutil import inside
from .ledger import LedgerItem
from .markup import plain_excerpt, render_markdown, tex_to_text
from .models import Entry, Link, PartialDate
from .topics import Topic

OTHER_ID = "other"


@dataclass(frozen=True)
class TopicRef:
    """A topic as a paper links to it."""

    id: str
    title: str
    url: str


@dataclass(frozen=True)
class Reason:
    """Why a paper is in a topic: classifier evidence, or a curator's decision."""

    topic: TopicRef
    score: float | None
    evidence: tuple[str, ...]
    curated: bool


@dataclass(frozen=True)
class Sighting:
    """One digest's view of a paper."""

    digest_id: str
    digest_url: str
    position: int
    upvotes: int | None
    date_label: str | None
    ingested: dt.date | None


@dataclass(frozen=True)
class Paper:
    """Everything the pages show about one paper."""

    slug: str
    url: str
    title: str
    abstract: str
    excerpt: str
    date: PartialDate | None
    authors: int | None
    upvotes: int | None
    links: tuple[Link, ...]
    topics: tuple[TopicRef, ...]
    reasons: tuple[Reason, ...]
    note: str
    note_html: Markup
    tags: tuple[str, ...]
    seen: tuple[Sighting, ...]
    added: dt.date | None
    variants: tuple[str, ...] = ()
    # sort key for newest first (unknown years last), ties by title; derived, so not shown
    newest_key: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        year, month, day = self.date.sort_key if self.date else (0, 0, 0)
        key = ((-year, -month, -day), self.title.casefold(), self.slug)
        object.__setattr__(self, "newest_key", key)

    @property
    def year(self) -> int | None:
        """Return the publication year, if known."""
        return self.date.year if self.date else None

    @property
    def date_label(self) -> str:
        """Return the date as shown, or an empty string."""
        return self.date.label if self.date else ""

    @property
    def code_url(self) -> str | None:
        """Return the first code-repository link, if any."""
        return next((link.url for link in self.links if link.kind == "code"), None)


@dataclass(frozen=True)
class TopicPage:
    """A topic (or "Other") with its papers, newest first."""

    id: str
    title: str
    description: str
    intro_html: Markup
    url: str
    feed_url: str
    papers: tuple[Paper, ...]

    @property
    def years(self) -> tuple[int | None, ...]:
        """Return the years present, newest first, unknown last."""
        known = sorted({p.year for p in self.papers if p.year is not None}, reverse=True)
        return (*known, *((None,) if any(p.year is None for p in self.papers) else ()))


@dataclass(frozen=True)
class DigestPage:
    """One ingested digest and what it brought."""

    id: str
    url: str
    item: LedgerItem
    papers: tuple[Paper, ...]
    new: tuple[Paper, ...]
    known: tuple[Paper, ...]


@dataclass(frozen=True)
class Site:
    """The whole site, modelled before anything is written."""

    config: Config
    papers: tuple[Paper, ...]
    by_slug: Mapping[str, Paper]
    topics: tuple[TopicPage, ...]
    digests: tuple[DigestPage, ...]
    home_html: Markup
    about_html: Markup
    warnings: tuple[str, ...] = field(default=())

    @property
    def newest(self) -> tuple[Paper, ...]:
        """Return the most recently added papers, newest digest first."""
        return tuple(newest_added(self.papers)[: self.config.newest_count])

    def counts_by_year(
        self, topic_ids: Sequence[str] | None = None
    ) -> dict[str, dict[int | None, int]]:
        """Return papers per year for each topic."""
        counts: dict[str, dict[int | None, int]] = {}
        for topic in self.topics:
            if topic_ids is None or topic.id in topic_ids:
                per_year: dict[int | None, int] = defaultdict(int)
                for paper in topic.papers:
                    per_year[paper.year] += 1
                counts[topic.id] = dict(per_year)
        return counts


def _topic_url(topic_id: str) -> str:
    return f"topics/{topic_id}.html"


def _read_markdown(path: Path) -> Markup:
    if not path.exists():
        return Markup("")
    content = path.parent.parent  # content/topics/<id>.md, content/pages/<name>.md
    if not inside(path, content):
        raise ContentError(path, None, f"symlink points outside {content}; refusing to read it")
    try:
        return render_markdown(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ContentError(path, None, f"not UTF-8 text: {exc.reason}") from None


class _Modeller:
    """Build the Site from loaded inputs, collecting warnings instead of failing fast."""

    def __init__(
        self, config: Config, topics: Sequence[Topic], ledger: Sequence[LedgerItem]
    ) -> None:
        self.config = config
        self.topics = {t.id: TopicRef(t.id, t.title, _topic_url(t.id)) for t in topics}
        self.other = TopicRef(OTHER_ID, "Other", _topic_url(OTHER_ID))
        self.ledger = {item.id: item for item in ledger}
        self.order = {item.id: index for index, item in enumerate(ledger)}
        self.warnings: list[str] = []

    def reasons(self, entry: Entry) -> tuple[Reason, ...]:
        """Explain each topic of an entry, warning about unknown curated topics."""
        if entry.curated.topics is None:
            return tuple(
                Reason(self.topics[m.topic], m.score, m.evidence, False)
                for m in entry.topics
                if m.topic in self.topics
            )
        reasons = []
        for topic_id in dict.fromkeys(entry.curated.topics):
            if topic_id in self.topics:
                reasons.append(Reason(self.topics[topic_id], None, (), True))
            elif topic_id != OTHER_ID:
                self.warnings.append(
                    f"{entry.path}: curated topic {topic_id!r} is not in topics.yaml"
                )
        return tuple(reasons)

    def sightings(self, entry: Entry) -> tuple[Sighting, ...]:
        """List the digests a paper appeared in, in ingestion order."""
        seen = sorted(
            entry.seen_in, key=lambda o: (self.order.get(o.digest, 1 << 30), o.digest, o.position)
        )
        return tuple(
            Sighting(
                o.digest,
                f"digests/{o.digest}.html",
                o.position,
                o.upvotes,
                o.date.label if o.date else None,
                self.ledger[o.digest].ingested if o.digest in self.ledger else None,
            )
            for o in seen
        )

    def paper(self, entry: Entry) -> Paper:
        """Model one visible entry."""
        reasons = self.reasons(entry)
        seen = self.sightings(entry)
        return Paper(
            slug=entry.slug,
            url=f"papers/{entry.slug}.html",
            title=tex_to_text(entry.display_title),
            abstract=entry.abstract,
            excerpt=plain_excerpt(entry.abstract, 240),
            date=entry.date,
            authors=entry.authors,
            upvotes=entry.upvotes,
            links=tuple(k for k in entry.links if k.url.startswith(("https://", "http://"))),
            topics=tuple(r.topic for r in reasons),
            reasons=reasons,
            note=entry.curated.note,
            note_html=render_markdown(entry.curated.note) if entry.curated.note else Markup(""),
            tags=tuple(entry.curated.tags),
            seen=seen,
            added=next((s.ingested for s in seen if s.ingested), None),
            variants=tuple(v.abstract for v in entry.variants),
        )


def newest_added(papers: Sequence[Paper]) -> list[Paper]:
    """Order papers by when the survey first saw them, newest first, undated last."""
    return sorted(papers, key=lambda p: (-(p.added or dt.date.min).toordinal(), p.newest_key))


def related_texts(site: Site) -> list[tuple[str, str]]:
    """Return what related papers are ranked on: (slug, title and abstract) per paper."""
    return [(p.slug, f"{p.title}\n{p.abstract}") for p in site.papers]


def rank_related(site: Site) -> dict[str, tuple[str, ...]]:
    """Return each paper's related papers by slug (text similarity, deterministic)."""
    from .related import related_papers  # with the text analysis: only when ranking here

    return related_papers(related_texts(site), k=site.config.related_count)


def _topic_pages(
    config: Config, topics: Sequence[Topic], papers: Sequence[Paper]
) -> tuple[TopicPage, ...]:
    pages = []
    for topic in (*topics, None):
        topic_id = topic.id if topic else OTHER_ID
        members = tuple(
            p
            for p in papers
            if (topic_id in {t.id for t in p.topics}) or (topic is None and not p.topics)
        )
        pages.append(
            TopicPage(
                id=topic_id,
                title=topic.title if topic else "Other",
                description=topic.description if topic else "Papers outside the survey's topics.",
                intro_html=_read_markdown(config.content_dir / "topics" / f"{topic_id}.md"),
                url=_topic_url(topic_id),
                feed_url=f"feeds/{topic_id}.xml",
                papers=tuple(sorted(members, key=lambda p: p.newest_key)),
            )
        )
    return tuple(pages)


def _digest_pages(ledger: Sequence[LedgerItem], papers: Sequence[Paper]) -> tuple[DigestPage, ...]:
    sightings: dict[str, list[tuple[int, Paper]]] = defaultdict(list)
    for paper in papers:
        for seen in paper.seen:
            sightings[seen.digest_id].append((seen.position, paper))
    pages = []
    for item in ledger:
        members = sorted(sightings[item.id], key=lambda pair: pair[0])
        first: dict[str, Paper] = {}  # by slug: comparing whole papers would be quadratic
        for _, paper in members:
            first.setdefault(paper.slug, paper)
        in_digest = tuple(first.values())
        new = tuple(p for p in in_digest if p.seen and p.seen[0].digest_id == item.id)
        known = tuple(p for p in in_digest if not (p.seen and p.seen[0].digest_id == item.id))
        pages.append(DigestPage(item.id, f"digests/{item.id}.html", item, in_digest, new, known))
    return tuple(pages)


def build_site(
    config: Config, entries: Sequence[Entry], topics: Sequence[Topic], ledger: Sequence[LedgerItem]
) -> Site:
    """Model the whole site from loaded content, related papers aside (`rank_related`)."""
    modeller = _Modeller(config, topics, ledger)
    visible = sorted((e for e in entries if not e.curated.hidden), key=lambda e: e.slug)
    papers = [modeller.paper(e) for e in visible]
    papers.sort(key=lambda p: p.newest_key)
    pages_dir = config.content_dir / "pages"
    return Site(
        config=config,
        papers=tuple(papers),
        by_slug={p.slug: p for p in papers},
        topics=_topic_pages(config, topics, papers),
        digests=_digest_pages(ledger, papers),
        home_html=_read_markdown(pages_dir / "index.md"),
        about_html=_read_markdown(pages_dir / "about.md"),
        warnings=tuple(modeller.warnings),
    )
