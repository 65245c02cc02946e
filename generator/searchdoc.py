"""What the search indexes of one paper, kept apart from the index code and its numpy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SearchDoc:
    """One paper as the search sees it; refs are assigned by `build_search_files`."""

    url: str
    title: str
    abstract: str = ""
    topics: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    note: str = ""
    year: int | None = None
    date_label: str = ""
    date_iso: str = ""
