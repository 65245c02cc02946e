"""The digest ledger (`content/digests.yaml`): which digests were ingested, when, in what order."""

from __future__ import annotations

import codecs
import datetime as dt
import functools
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from .cache import content_key
from .errors import ContentError
from .fsutil import atomic_write
from .yamlio import dumps, load_file

HEADER = (
    "# Written by `survey ingest`: one item per digest, in the order they were first ingested.\n"
    "# You may edit `date` (the digest's own date, YYYY-MM-DD): it dates year-less papers.\n"
    "# `stamp` fingerprints what the last ingest saw (topic rules, dates, entry files, code):\n"
    "# while it matches, a build on a fresh clone trusts the entries and ingests no digest again.\n"
)

# The modules whose code decides what an entry file holds (a change there re-derives entries).
_INGEST_MODULES = (
    "digest", "ingest", "ledger", "models", "prefilter", "slug", "store", "topics",
    "topicscore", "yamlio",
)  # fmt: skip


@dataclass(frozen=True)
class LedgerItem:
    """What the survey knows about one ingested digest."""

    id: str
    file: str
    sha256: str
    layout: str
    page_date: str | None
    date: dt.date | None
    ingested: dt.date
    papers: int


def today() -> dt.date:
    """Return the build date: SOURCE_DATE_EPOCH when set, so builds are reproducible."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date()
    return dt.date.today()


def _parse_date(value: object, path: Path, what: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ContentError(path, None, f"{what}: {value!r} is not a YYYY-MM-DD date") from None


@dataclass(frozen=True)
class Ledger:
    """The ledger's digests and the stamp of the ingest that last wrote it."""

    items: list[LedgerItem] = field(default_factory=list)
    stamp: str | None = None


def digest_file_sha256(path: Path) -> str | None:
    """Return the hash the ledger records for a digest file, without parsing it.

    That is the hash of its UTF-8 text with no byte-order mark, which for any readable
    digest is its bytes less a leading BOM. None if the file cannot be read.
    """
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return hashlib.sha256(data.removeprefix(codecs.BOM_UTF8)).hexdigest()


def load_ledger(path: Path) -> list[LedgerItem]:
    """Read the ledger's digests; a missing file is an empty ledger."""
    return read_ledger(path).items


def read_ledger(path: Path) -> Ledger:
    """Read the ledger with its stamp; a missing file is an empty ledger."""
    if not path.exists():
        return Ledger()
    data = load_file(path) or {}
    items = data.get("digests") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ContentError(path, 1, "expected `digests:` followed by a list")
    stamp = data.get("stamp")
    try:
        return Ledger(
            [_item(raw, path) for raw in items], stamp if isinstance(stamp, str) else None
        )
    except (KeyError, TypeError) as exc:
        raise ContentError(path, None, f"malformed digest item: missing {exc}") from None


def _item(raw: dict, path: Path) -> LedgerItem:
    return LedgerItem(
        id=str(raw["id"]),
        file=str(raw["file"]),
        sha256=str(raw["sha256"]),
        layout=str(raw["layout"]),
        page_date=raw.get("page_date"),
        date=_parse_date(raw.get("date"), path, f"{raw['id']}: date"),
        ingested=_parse_date(raw["ingested"], path, f"{raw['id']}: ingested") or today(),
        papers=int(raw["papers"]),
    )


def ledger_text(items: list[LedgerItem], stamp: str | None = None) -> str:
    """Serialise the ledger (the stamp first, when there is one)."""
    rows = [
        {
            "id": it.id,
            "file": it.file,
            "sha256": it.sha256,
            "layout": it.layout,
            "page_date": it.page_date,
            "date": it.date.isoformat() if it.date else None,
            "ingested": it.ingested.isoformat(),
            "papers": it.papers,
        }
        for it in items
    ]
    head = {"stamp": stamp} if stamp else {}
    return HEADER + dumps({**head, "digests": rows})


def record(items: list[LedgerItem], item: LedgerItem) -> list[LedgerItem]:
    """Add or update one digest, keeping its first-ingested date and position."""
    for index, old in enumerate(items):
        if old.id == item.id:
            updated = replace(item, ingested=old.ingested)
            return [*items[:index], updated, *items[index + 1 :]]
    return [*items, item]


def save_ledger(path: Path, items: list[LedgerItem], stamp: str | None = None) -> bool:
    """Write the ledger if it changed; return whether it did."""
    text = ledger_text(items, stamp)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    atomic_write(path, text)
    return True


def ingest_stamp(items: Sequence[LedgerItem], topics_file: Path, papers_dir: Path) -> str:
    """Fingerprint what the entries were derived from, besides the digests' own text.

    That is the ledger's digests (content hash and date), the topic rules file, the names of
    the entry files and the ingest code. Together with each digest's hash it tells a build
    with no cache whether the entries are what an ingest would write (see `build`).
    """
    rules = topics_file.read_bytes() if topics_file.is_file() else b""
    names = sorted(p.name for p in papers_dir.glob("*.yaml")) if papers_dir.is_dir() else []
    digests = [(it.id, it.file, it.sha256, it.date and it.date.isoformat()) for it in items]
    parts = (_ingest_code(), hashlib.sha256(rules).hexdigest(), digests, names)
    return content_key(*parts)[:32]


@functools.cache
def _ingest_code() -> str:
    """Hash the source of the modules that decide what an entry file holds."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in _INGEST_MODULES:
        digest.update(name.encode() + b"\0" + (package / f"{name}.py").read_bytes())
    return digest.hexdigest()
