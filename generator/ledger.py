"""The digest ledger (`content/digests.yaml`): which digests were ingested, when, in what order."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import ContentError
from .fsutil import atomic_write
from .yamlio import dumps, load_file

HEADER = (
    "# Written by `survey ingest`: one item per digest, in the order they were first ingested.\n"
    "# You may edit `date` (the digest's own date, YYYY-MM-DD): it dates year-less papers.\n"
)


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


def load_ledger(path: Path) -> list[LedgerItem]:
    """Read the ledger; a missing file is an empty ledger."""
    if not path.exists():
        return []
    data = load_file(path) or {}
    items = data.get("digests") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ContentError(path, 1, "expected `digests:` followed by a list")
    try:
        return [_item(raw, path) for raw in items]
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


def ledger_text(items: list[LedgerItem]) -> str:
    """Serialise the ledger."""
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
    return HEADER + dumps({"digests": rows})


def record(items: list[LedgerItem], item: LedgerItem) -> list[LedgerItem]:
    """Add or update one digest, keeping its first-ingested date and position."""
    for index, old in enumerate(items):
        if old.id == item.id:
            updated = replace(item, ingested=old.ingested)
            return [*items[:index], updated, *items[index + 1 :]]
    return [*items, item]


def save_ledger(path: Path, items: list[LedgerItem]) -> bool:
    """Write the ledger if it changed; return whether it did."""
    text = ledger_text(items)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    atomic_write(path, text)
    return True
