"""Feed stage: the survey's Atom feeds (all papers and one per topic), newest first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from .feeds import Feed, FeedItem, atom_feed, feed_id
from .site import Paper, Site, newest_added


def _href(site: Site, rel: str) -> str:
    """Return a link usable from a file in feeds/: absolute when the site URL is known."""
    base = site.config.site_url.rstrip("/")
    return f"{base}/{rel}" if base else f"../{rel}"


def _added(paper: Paper) -> dt.date:
    """Return the date a feed item shows (Atom needs one: 1970-01-01 when unknown)."""
    return paper.added or dt.date(1970, 1, 1)


def _items(site: Site, papers: Sequence[Paper]) -> list[FeedItem]:
    """Return the feed items of the newest papers (`papers` is in `newest_added` order)."""
    return [
        FeedItem(
            id=feed_id("paper", p.slug),
            title=p.title,
            link=_href(site, p.url),
            updated=_added(p),
            summary=p.abstract,
            categories=tuple(t.title for t in p.topics),
            authors_count=p.authors,
        )
        for p in papers[: site.config.feed_size]
    ]


def _feed(
    site: Site, name: str, title: str, subtitle: str, page: str, papers: Sequence[Paper]
) -> bytes:
    items = _items(site, papers)
    updated = max((i.updated for i in items), default=dt.date(1970, 1, 1))
    feed = Feed(
        id=feed_id("feed", name),
        title=title,
        subtitle=subtitle,
        self_link=_href(site, f"feeds/{name}.xml"),
        alternate_link=_href(site, page),
        updated=updated,
    )
    return atom_feed(feed, items)


def feed_files(site: Site) -> dict[str, bytes]:
    """Return every feed file keyed by its path in the site."""
    title = site.config.title
    ordered = newest_added(site.papers)
    rank = {p.slug: i for i, p in enumerate(ordered)}
    files = {
        "feeds/all.xml": _feed(
            site, "all", f"{title}: new papers", site.config.description, "index.html", ordered
        )
    }
    for topic in site.topics:
        papers = sorted(topic.papers, key=lambda p: rank[p.slug])
        files[f"feeds/{topic.id}.xml"] = _feed(
            site, topic.id, f"{title}: {topic.title}", topic.description, topic.url, papers
        )
    return files
