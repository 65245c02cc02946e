"""Search stage: the site's papers as search documents, and the payload files they make."""

from __future__ import annotations

from .search import SearchDoc
from .search_cache import cached_search_files
from .site import Paper, Site


def search_doc(paper: Paper) -> SearchDoc:
    """Describe one paper for the search index."""
    return SearchDoc(
        url=paper.url,
        title=paper.title,
        abstract=paper.abstract,
        topics=tuple(t.title for t in paper.topics) or ("Other",),
        tags=paper.tags,
        note=paper.note,
        year=paper.year,
        date_label=paper.date_label,
        date_iso=paper.date.iso if paper.date else "",
    )


def search_files(site: Site) -> dict[str, bytes]:
    """Return the search payload (manifest and index shards) keyed by path in the site.

    Documents analysed by earlier builds, and an unchanged payload, come from the cache.
    """
    docs = [search_doc(p) for p in site.papers]
    config = site.config
    return cached_search_files(docs, config.search_shard_size, config.cache_dir)
