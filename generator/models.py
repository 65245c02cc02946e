"""Typed values passed between pipeline stages."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from pathlib import Path

# English month abbreviations as digests write them (not the locale's, and no strftime per call)
MONTH_ABBR = (
    "",
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
MONTHS = {name: i for i, name in enumerate(MONTH_ABBR) if name}


@dataclass(frozen=True, order=True)
class PartialDate:
    """A calendar date whose year may be unknown (digests often omit it)."""

    year: int | None
    month: int
    day: int

    def __post_init__(self) -> None:
        year = self.year if self.year is not None else 2000  # a leap year admits Feb 29
        if (
            not 1 <= self.month <= 12
            or not 1 <= self.day <= calendar.monthrange(year, self.month)[1]
        ):
            raise ValueError(f"no such date: month {self.month}, day {self.day}")

    @classmethod
    def from_iso(cls, text: str) -> PartialDate:
        """Parse `2023-04-15` or the year-less ISO form `--04-15`."""
        match = re.fullmatch(r"(\d{4}|-)-(\d{2})-(\d{2})", text)
        if not match:
            raise ValueError(f"not a date (YYYY-MM-DD or --MM-DD): {text!r}")
        year = None if match[1] == "-" else int(match[1])
        return cls(year, int(match[2]), int(match[3]))

    @property
    def iso(self) -> str:
        """Return `YYYY-MM-DD`, or `--MM-DD` when the year is unknown."""
        year = f"{self.year:04d}" if self.year is not None else "-"
        return f"{year}-{self.month:02d}-{self.day:02d}"

    @property
    def html_datetime(self) -> str:
        """Return the HTML `<time datetime>` form: `YYYY-MM-DD`, or the year-less `MM-DD`."""
        return self.iso if self.year is not None else f"{self.month:02d}-{self.day:02d}"

    @property
    def label(self) -> str:
        """Return the human form, e.g. `Apr 15, 2023` or `Feb 27`."""
        base = f"{MONTH_ABBR[self.month]} {self.day}"
        return f"{base}, {self.year}" if self.year is not None else base

    @property
    def sort_key(self) -> tuple[int, int, int]:
        """Order by year (unknown first), month, day."""
        return (self.year or 0, self.month, self.day)


@dataclass(frozen=True)
class Link:
    """A URL found in an abstract, classified as code, project page or other."""

    url: str
    kind: str  # "code" | "project" | "data" | "other"


@dataclass(frozen=True)
class Record:
    """One paper as it appears in one digest."""

    title: str
    abstract: str
    digest: str
    position: int
    line: int
    authors: int | None = None
    date: PartialDate | None = None
    upvotes: int | None = None
    links: tuple[Link, ...] = ()


@dataclass(frozen=True)
class Digest:
    """A parsed digest file."""

    id: str
    path: Path
    layout: str  # "spaced" | "compact"
    page_date: str | None
    records: tuple[Record, ...]
    sha256: str = ""


@dataclass(frozen=True)
class TopicMatch:
    """Why a paper belongs to a topic: its score and the signals that fired."""

    topic: str
    score: float
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Observation:
    """Where and how a paper was seen: one digest's view of it."""

    digest: str
    position: int
    line: int
    authors: int | None = None
    upvotes: int | None = None
    date: PartialDate | None = None

    @property
    def ref(self) -> str:
        """Return `digest#position`, the observation's identity."""
        return f"{self.digest}#{self.position}"


@dataclass(frozen=True)
class Variant:
    """A clearly different abstract seen under the same title, kept rather than dropped."""

    abstract: str
    seen: str  # the observation ref it came from


@dataclass
class Curated:
    """Fields people edit; ingest never writes them."""

    title: str | None = None
    note: str = ""
    topics: list[str] | None = None  # override: replaces the automatic assignment
    tags: list[str] = field(default_factory=list)
    hidden: bool = False


@dataclass
class Entry:
    """One paper in the survey: ingest-owned facts plus curated fields."""

    slug: str
    title: str
    abstract: str
    authors: int | None
    date: PartialDate | None
    upvotes: int | None
    links: tuple[Link, ...]
    seen_in: tuple[Observation, ...]
    topics: tuple[TopicMatch, ...] = ()
    variants: tuple[Variant, ...] = ()
    curated: Curated = field(default_factory=Curated)
    path: Path | None = None

    @property
    def display_title(self) -> str:
        """Return the curated title when set, else the ingested one."""
        return self.curated.title or self.title

    @property
    def topic_ids(self) -> tuple[str, ...]:
        """Return the effective topics: the curated override wins."""
        if self.curated.topics is not None:
            return tuple(self.curated.topics)
        return tuple(m.topic for m in self.topics)

    @property
    def year(self) -> int | None:
        """Return the publication year, if known."""
        return self.date.year if self.date else None
