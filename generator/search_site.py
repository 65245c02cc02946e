"""Search stage: the site's papers as search documents, and the payload files they make.

Making the documents needs only the site; making the payload needs the index code (lunr and
numpy), imported on first use, so a build can make the documents in one process and the
payload in another that imported the index code while the site was being read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .searchdoc import SearchDoc

if TYPE_CHECKING:  # the process building the payload needs no site model
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


def search_docs(site: Site) -> list[SearchDoc]:
    """Describe every paper of the site for the search index."""
    return [search_doc(p) for p in site.papers]


def payload_files(docs: list[SearchDoc], shard_size: int, cache_dir: Path) -> dict[str, bytes]:
    """Return the search payload (manifest and index shards) keyed by path in the site.

    Documents analysed by earlier builds, and an unchanged payload, come from the cache.
    """
    from .search_cache import cached_search_files

    return cached_search_files(docs, shard_size, cache_dir)


def related_on_index(
    docs: list[SearchDoc], slugs: list[str], k: int, cache_dir: Path
) -> dict[str, tuple[str, ...]]:
    """Rank related papers on the search index's analysis of the documents (slug each).

    Analysing the titles and abstracts once serves both: the payload made next in this
    process (`payload_files`) reuses the analysis.
    """
    from .search_cache import ranked_related

    return ranked_related(docs, slugs, k, cache_dir)


def import_index_code() -> None:
    """Import the index code now (a process that will build the payload later calls this)."""
    from . import search_cache  # noqa: F401
